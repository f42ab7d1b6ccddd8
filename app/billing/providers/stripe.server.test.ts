import { expectSafeProviderError } from "./provider-error-expectations.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import {
  credentialFingerprint,
  EMULATOR_ONLY_CUSTOMER_IDS,
  startProviderEmulator,
  type ProviderEmulator,
} from "../../../emulator/provider-emulator.ts";
import { ProviderError, type BillingProvider } from "./provider.ts";
import { createStripeProvider } from "./stripe.server.ts";

const SECRET_KEY = "sk_test_adapterSecret4242";
const CUSTOMER = DEMO_ACCOUNTS[0].customer.providerCustomerId;
const RETURN_URL = "http://app.test/account?tab=billing";

let emulator: ProviderEmulator;
let stripe: BillingProvider;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
  // Generous: a cold first call on a busy machine must not pass for a timeout; the timeout test has its own.
  stripe = createStripeProvider({ secretKey: SECRET_KEY, timeoutMs: 10_000, emulatorOrigin: emulator.origin });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

function openPortal(provider = stripe, extra: { customerId?: string; idempotencyKey?: string } = {}) {
  const { customerId = CUSTOMER, idempotencyKey } = extra;
  return provider.createPortal({ providerCustomerId: customerId }, { returnUrl: RETURN_URL, idempotencyKey });
}

/** A call that must fail, with nothing of the provider's own text, the key or the customer in its error. */
function failure(call: Promise<unknown>): Promise<ProviderError> {
  return expectSafeProviderError(call, { secrets: [SECRET_KEY, CUSTOMER], providerWording: /No such|Invalid API Key|configuration has not been created|Something went wrong|Request rate/ });
}

describe("Stripe adapter", () => {
  it("creates a billing portal session with the key, API version and form fields Stripe expects", async () => {
    const { url } = await openPortal();

    expect(new URL(url).origin).toBe(emulator.origin);
    expect(url).toMatch(/\/portal\/stripe\/p\/session\/test_/);
    const [request] = emulator.requests("stripe");
    expect(request).toMatchObject({ method: "POST", path: "/v1/billing_portal/sessions" });
    expect(request!.auth).toEqual({ scheme: "Bearer", fingerprint: credentialFingerprint(SECRET_KEY) });
    expect(request!.headers["stripe-version"]).toMatch(/^\d{4}-\d{2}-\d{2}\.\w+$/);
    expect(request!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    // No language known: Stripe picks one from the browser.
    expect(request!.body).toEqual({ customer: CUSTOMER, return_url: RETURN_URL, locale: "auto" });
  });

  it("sends the configured portal configuration", async () => {
    const configured = createStripeProvider({
      secretKey: SECRET_KEY,
      portalConfigurationId: "bpc_Custom123",
      timeoutMs: 10_000,
      emulatorOrigin: emulator.origin,
    });
    await openPortal(configured);
    expect(emulator.requests("stripe")[0]!.body).toEqual({
      customer: CUSTOMER,
      return_url: RETURN_URL,
      locale: "auto",
      configuration: "bpc_Custom123",
    });
  });

  it("reports a customer Stripe does not know", async () => {
    expect((await failure(openPortal(stripe, { customerId: "cus_Unknown999" }))).kind).toBe("unknown-customer");
  });

  it("reports an account without a default portal configuration as not configured", async () => {
    const error = await failure(openPortal(stripe, { customerId: EMULATOR_ONLY_CUSTOMER_IDS.stripeWithoutPortalConfiguration }));
    expect(error.kind).toBe("not-configured");
  });

  it("reports an unknown portal configuration id as not configured", async () => {
    const misconfigured = createStripeProvider({
      secretKey: SECRET_KEY,
      portalConfigurationId: "not-a-configuration",
      timeoutMs: 10_000,
      emulatorOrigin: emulator.origin,
    });
    expect((await failure(openPortal(misconfigured))).kind).toBe("not-configured");
  });

  it("reports a refused API key", async () => {
    const wrongKey = createStripeProvider({ secretKey: "pk_test_notASecretKey", timeoutMs: 10_000, emulatorOrigin: emulator.origin });
    const error = await failure(openPortal(wrongKey));
    expect(error.kind).toBe("auth");
    expect(error.message).not.toContain("pk_test_notASecretKey");
  });

  it("reports a rate limit with its Retry-After, without retrying", async () => {
    emulator.failNext("stripe", { retryAfterSeconds: 7 });
    const error = await failure(openPortal());
    expect(error).toMatchObject({ kind: "rate-limited", retryAfterSeconds: 7 });
    expect(emulator.requests("stripe")).toHaveLength(1);
  });

  it("sends the idempotency key it is given, so the policy's retry of a call is one request to Stripe", async () => {
    await openPortal(stripe, { idempotencyKey: "portal-call-1" });
    await openPortal(stripe, { idempotencyKey: "portal-call-1" });
    const keys = emulator.requests("stripe").map((request) => request.headers["idempotency-key"]);
    expect(keys).toEqual(["portal-call-1", "portal-call-1"]);
  });

  it("reports a server error as unavailable without retrying by itself (the resilience policy retries)", async () => {
    emulator.failNext("stripe", { status: 500, times: 2 });
    expect((await failure(openPortal())).kind).toBe("unavailable");
    expect(emulator.requests("stripe")).toHaveLength(1);
  });

  it("reports a malformed answer as unavailable", async () => {
    emulator.failNext("stripe", { malformed: true });
    expect((await failure(openPortal())).kind).toBe("unavailable");
  });

  it("reports a provider that does not answer in time as a timeout", async () => {
    const impatient = createStripeProvider({ secretKey: SECRET_KEY, timeoutMs: 400, emulatorOrigin: emulator.origin });
    emulator.failNext("stripe", { delayMs: 2000 });
    expect((await failure(openPortal(impatient))).kind).toBe("timeout");
  });

  it("reports an unreachable API as unavailable", async () => {
    const closed = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
    await closed.close();
    const unreachable = createStripeProvider({ secretKey: SECRET_KEY, timeoutMs: 400, emulatorOrigin: closed.origin });
    expect((await failure(openPortal(unreachable))).kind).toBe("unavailable");
  });
});

describe("Stripe deep links and language", () => {
  const SUBSCRIPTION = "sub_DemoStripe0001";

  it("opens the payment-method update flow, returning to the app when done, in the user's language", async () => {
    const { url, deepLinked } = await stripe.createPortal(
      { providerCustomerId: CUSTOMER },
      { returnUrl: RETURN_URL, intent: "payment_method", languages: ["fr-CH", "en"] },
    );
    expect(deepLinked).toBe(true);
    expect(url).toMatch(/\/flow$/);
    expect(emulator.requests("stripe")[0]!.body).toEqual({
      customer: CUSTOMER,
      return_url: RETURN_URL,
      locale: "fr",
      "flow_data[type]": "payment_method_update",
      "flow_data[after_completion][type]": "redirect",
      "flow_data[after_completion][redirect][return_url]": RETURN_URL,
    });
  });

  it.each([
    ["cancel", "subscription_cancel"],
    ["change_plan", "subscription_update"],
  ] as const)("sends %s as the %s flow for the subscription it is given", async (intent, type) => {
    await stripe.createPortal({ providerCustomerId: CUSTOMER }, { returnUrl: RETURN_URL, intent, subscriptionId: SUBSCRIPTION });
    const body = emulator.requests("stripe")[0]!.body as Record<string, string>;
    expect(body["flow_data[type]"]).toBe(type);
    expect(body[`flow_data[${type}][subscription]`]).toBe(SUBSCRIPTION);
  });

  it("refuses to send a cancel flow without a subscription, rather than let Stripe guess", async () => {
    const error = await failure(stripe.createPortal({ providerCustomerId: CUSTOMER }, { returnUrl: RETURN_URL, intent: "cancel" }));
    expect(error.kind).toBe("refused");
    expect(emulator.requests("stripe")).toHaveLength(0);
  });

  it("passes the checkout the best of Checkout's own locales", async () => {
    const withPrices = createStripeProvider({ secretKey: SECRET_KEY, timeoutMs: 10_000, emulatorOrigin: emulator.origin, prices: DEMO_PLAN_PROVIDER_IDS.stripe });
    await withPrices.createCheckout({
      plan: "pro",
      owner: { id: "org_1", email: "someone@example.test" },
      successUrl: "http://app.test/account?checkout=success",
      cancelUrl: "http://app.test/pricing",
      // The portal knows en-AU, Checkout does not: Checkout gets plain English.
      languages: ["en-AU"],
      trialDays: 0,
    });
    const checkout = emulator.requests("stripe").find((request) => request.path === "/v1/checkout/sessions");
    expect((checkout!.body as Record<string, string>).locale).toBe("en");
  });
});
