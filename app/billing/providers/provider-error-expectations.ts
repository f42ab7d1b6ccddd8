import { expect } from "vitest";
import { ProviderError } from "./provider.ts";

/**
 * For adapter tests: awaits a call that must fail and checks that it failed
 * with a ProviderError carrying none of the given secrets (key, customer id)
 * and none of the provider's own wording, so nothing unsafe can travel on.
 */
export async function expectSafeProviderError(
  call: Promise<unknown>,
  forbidden: { secrets: string[]; providerWording: RegExp },
): Promise<ProviderError> {
  const error = await call.then(
    () => expect.fail("expected a ProviderError"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  const { message, detail } = error as ProviderError;
  for (const text of [message, detail]) {
    for (const secret of forbidden.secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(forbidden.providerWording);
  }
  return error as ProviderError;
}
