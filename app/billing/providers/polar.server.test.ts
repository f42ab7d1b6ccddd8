import { expectSafeProviderError } from "./provider-error-expectations.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { credentialFingerprint, startProviderEmulator, type ProviderEmulator } from "../../../emulator/provider-emulator.ts";
import { createPolarProvider } from "./polar.server.ts";
import { ProviderError, type BillingProvider } from "./provider.ts";

const ACCESS_TOKEN = "polar_oat_adapterSecret4242";
const CUSTOMER = DEMO_ACCOUNTS[1].customer.providerCustomerId;
const UNKNOWN_CUSTOMER = "00000000-0000-4000-8000-000000000000";
const RETURN_URL = "http://app.test/account";

let emulator: ProviderEmulator;
let polar: BillingProvider;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: RETURN_URL });
  // Generous: a cold first call on a busy machine must not pass for a timeout; the timeout test has its own.
  polar = createPolarProvider({ accessToken: ACCESS_TOKEN, server: "sandbox", timeoutMs: 10_000, emulatorOrigin: emulator.origin });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

function openPortal(provider = polar, customerId: string = CUSTOMER) {
  return provider.createPortal({ providerCustomerId: customerId }, { returnUrl: RETURN_URL });
}

/** A call that must fail, with nothing of the provider's own text, the key or the customer in its error. */
function failure(call: Promise<unknown>): Promise<ProviderError> {
  return expectSafeProviderError(call, { secrets: [ACCESS_TOKEN, CUSTOMER, UNKNOWN_CUSTOMER], providerWording: /does not exist|Unauthorized|Internal server error|Rate limit exceeded|Polar API/ });
}

describe("Polar adapter", () => {
  it("opens a customer session with a snake_case JSON body and returns its portal URL", async () => {
    const { url } = await openPortal();

    expect(new URL(url).origin).toBe(emulator.origin);
    expect(new URL(url).searchParams.get("customer_session_token")).toMatch(/^polar_cst_/);
    const [request] = emulator.requests("polar");
    expect(request).toMatchObject({ method: "POST", path: "/v1/customer-sessions/" });
    expect(request!.auth).toEqual({ scheme: "Bearer", fingerprint: credentialFingerprint(ACCESS_TOKEN) });
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["polar-version"]).toBe("2026-10");
    expect(request!.body).toEqual({ customer_id: CUSTOMER, return_url: RETURN_URL });
  });

  it("reports a customer Polar does not know", async () => {
    expect((await failure(openPortal(polar, UNKNOWN_CUSTOMER))).kind).toBe("unknown-customer");
  });

  it("reports a customer id that is not a UUID as unknown", async () => {
    expect((await failure(openPortal(polar, "cus_NotPolar"))).kind).toBe("unknown-customer");
  });

  it("reports a refused access token", async () => {
    const wrongToken = createPolarProvider({
      accessToken: "sk_test_wrongProvidersKey",
      server: "sandbox",
      timeoutMs: 10_000,
      emulatorOrigin: emulator.origin,
    });
    const error = await failure(openPortal(wrongToken));
    expect(error.kind).toBe("auth");
    expect(error.message).not.toContain("sk_test_wrongProvidersKey");
  });

  it("reports a forbidden request as an auth failure", async () => {
    emulator.failNext("polar", { status: 403 });
    expect((await failure(openPortal())).kind).toBe("auth");
  });

  it("reports a rate limit with its Retry-After", async () => {
    emulator.failNext("polar", { retryAfterSeconds: 12 });
    expect(await failure(openPortal())).toMatchObject({ kind: "rate-limited", retryAfterSeconds: 12 });
  });

  it("reports a rate limit without Retry-After", async () => {
    emulator.failNext("polar", { status: 429 });
    const error = await failure(openPortal());
    expect(error.kind).toBe("rate-limited");
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it("reports other refusals as refused", async () => {
    emulator.failNext("polar", { status: 409 });
    expect((await failure(openPortal())).kind).toBe("refused");
  });

  it("reports a server error as unavailable, without retrying", async () => {
    emulator.failNext("polar", { status: 500 });
    expect((await failure(openPortal())).kind).toBe("unavailable");
    expect(emulator.requests("polar")).toHaveLength(1);
  });

  it("reports a malformed answer as unavailable", async () => {
    emulator.failNext("polar", { malformed: true });
    expect((await failure(openPortal())).kind).toBe("unavailable");
  });

  it("reports a session without a portal URL as unavailable", async () => {
    emulator.failNext("polar", { status: 201, body: { id: "cs_1" } });
    expect((await failure(openPortal())).kind).toBe("unavailable");
  });

  it("reports a provider that does not answer in time as a timeout", async () => {
    const impatient = createPolarProvider({ accessToken: ACCESS_TOKEN, server: "sandbox", timeoutMs: 300, emulatorOrigin: emulator.origin });
    emulator.failNext("polar", { delayMs: 2000 });
    expect((await failure(openPortal(impatient))).kind).toBe("timeout");
  });

  it("reports an unreachable API as unavailable", async () => {
    const closed = await startProviderEmulator({ appReturnUrl: RETURN_URL });
    await closed.close();
    const unreachable = createPolarProvider({ accessToken: ACCESS_TOKEN, server: "sandbox", timeoutMs: 300, emulatorOrigin: closed.origin });
    expect((await failure(openPortal(unreachable))).kind).toBe("unavailable");
  });
});
