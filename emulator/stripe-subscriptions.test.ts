import { afterAll, beforeAll, expect, test } from "vitest";
import { createStripeProvider } from "~/billing/providers/stripe.server.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";

// Stripe's `subscriptions.retrieve` through the real SDK against the emulator: what the webhook service asks
// when two events carry the same `created` second (issue 16).

let emulator: ProviderEmulator;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
});
afterAll(() => emulator.close());

const stripe = () => createStripeProvider({ secretKey: "sk_test_emulated", timeoutMs: 5000, emulatorOrigin: emulator.origin });

test("a known subscription comes back in the app's words, with its item's quantity", async () => {
  const current = await stripe().retrieveSubscription!("sub_DemoStripe0001");
  expect(current).toMatchObject({
    providerCustomerId: expect.stringMatching(/^cus_/),
    subscription: { providerSubscriptionId: "sub_DemoStripe0001", providerPlanId: "price_emulated_pro", status: "active", quantity: 1, endedAt: null, cancelAtPeriodEnd: false },
  });
  expect(current?.subscription.currentPeriodEnd?.getTime()).toBeGreaterThan(Date.now());
});

test("an unknown subscription is null, not an error", async () => {
  expect(await stripe().retrieveSubscription!("sub_Nobody")).toBeNull();
});

test("a refused key is the adapter's auth failure", async () => {
  const refused = createStripeProvider({ secretKey: "sk_test_!bad", timeoutMs: 5000, emulatorOrigin: emulator.origin });
  await expect(refused.retrieveSubscription!("sub_DemoStripe0001")).rejects.toMatchObject({ kind: "auth" });
});
