import * as fc from "fast-check";
import { createCookie } from "react-router";
import { describe, expect, it } from "vitest";
import { createSignedCookieReader } from "./signed-cookie.server.ts";

const NAME = "__session";
const NEW_SECRET = "new-secret-0123456789abcdef";
const OLD_SECRET = "old-secret-fedcba9876543210";

/** React Router's own cookie: it still writes every cookie, and is the reference for reading. */
const reactRouterCookie = (secrets: string[]) => createCookie(NAME, { secrets, httpOnly: true, sameSite: "lax", path: "/" });

async function headerFor(value: unknown, secrets: readonly string[]): Promise<string> {
  return (await reactRouterCookie([...secrets]).serialize(value)).split(";")[0]!;
}

describe("signed cookie reader", () => {
  it("reads what React Router signed, with the current secret and with an older one still listed", async () => {
    const read = createSignedCookieReader(NAME, [NEW_SECRET, OLD_SECRET]);
    expect(read(await headerFor("session-id-1", [NEW_SECRET]))).toBe("session-id-1");
    expect(read(`theme=dark; ${await headerFor("session-id-2", [OLD_SECRET])}; other=1`)).toBe("session-id-2");
  });

  it("refuses a cookie signed with a secret no longer listed, and any tampered cookie", async () => {
    const read = createSignedCookieReader(NAME, [NEW_SECRET]);
    expect(read(await headerFor("session-id", [OLD_SECRET]))).toBeNull();

    const header = await headerFor("session-id", [NEW_SECRET]);
    const [, value] = header.split("=", 2) as [string, string];
    const [payload, signature] = decodeURIComponent(value).split(".") as [string, string];
    const otherPayload = btoa(JSON.stringify("someone-else"));
    const flipped = signature.slice(0, -1) + (signature.endsWith("A") ? "B" : "A");
    for (const forged of [`${otherPayload}.${signature}`, `${payload}.${flipped}`, `${payload}.`, payload, `${otherPayload}`]) {
      expect({ forged, read: read(`${NAME}=${encodeURIComponent(forged)}`) }).toEqual({ forged, read: null });
    }
  });

  it("answers exactly what React Router's cookie.parse answers, for signed, tampered and garbled headers", async () => {
    const secrets = [NEW_SECRET, OLD_SECRET];
    const read = createSignedCookieReader(NAME, secrets);
    const reference = reactRouterCookie(secrets);
    const signedHeader = fc
      .tuple(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.jsonValue()), fc.constantFrom([NEW_SECRET], [OLD_SECRET], ["stranger"]))
      .map(([value, signingSecrets]) => ({ value, signingSecrets }));
    await fc.assert(
      fc.asyncProperty(signedHeader, fc.nat(60), fc.string({ maxLength: 3 }), async ({ value, signingSecrets }, at, insert) => {
        const header = await headerFor(value, signingSecrets);
        const tampered = header.slice(0, at) + insert + header.slice(at + insert.length);
        for (const candidate of [header, tampered, `a=b; ${tampered}`, ` ${NAME}=; ${header}`]) {
          expect(read(candidate)).toEqual(await reference.parse(candidate));
        }
      }),
      { numRuns: 300 },
    );
  });
});
