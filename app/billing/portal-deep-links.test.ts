import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { routeLemonSqueezyApiTo } from "../../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator, type ProviderEmulator } from "../../emulator/provider-emulator.ts";
import { PORTAL_DEEP_LINKS, type SubscriptionAction } from "./portal-deep-links.ts";
import { PROVIDER_IDS } from "./providers/provider.ts";
import { createBillingProvider } from "./providers/registry.server.ts";

// The account page offers a button only for what PORTAL_DEEP_LINKS lists: the table must say what each provider
// module really does. Each provider's real SDK against the emulator, for each action, with a demo subscription.

let emulator: ProviderEmulator;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
  // In the app, the composition root's emulated branch does this.
  routeLemonSqueezyApiTo(emulator.origin);
});
afterAll(async () => {
  routeLemonSqueezyApiTo(emulator.origin)();
  await emulator.close();
});

const ACTIONS: SubscriptionAction[] = ["payment_method", "change_plan", "cancel"];

describe.each(PROVIDER_IDS)("%s", (provider) => {
  test("PORTAL_DEEP_LINKS lists exactly the actions whose portal link is deep", async () => {
    const config = parseConfig({ APP_ENV: "test", APP_URL: "http://app.test", PAYMENT_PROVIDER: provider, PAYMENT_EMULATOR: "1" });
    const billing = createBillingProvider({ ...config.billing, emulatorOrigin: emulator.origin });
    const account = DEMO_ACCOUNTS.find((demo) => demo.customer?.provider === provider && demo.subscription)!;
    const deep: SubscriptionAction[] = [];
    for (const intent of ACTIONS) {
      const link = await billing.createPortal(
        { providerCustomerId: account.customer!.providerCustomerId },
        { returnUrl: "http://app.test/account", intent, subscriptionId: account.subscription!.providerSubscriptionId },
      );
      if (link.deepLinked) deep.push(intent);
    }
    expect(deep).toEqual(PORTAL_DEEP_LINKS[provider]);
  });
});
