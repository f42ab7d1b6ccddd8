import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { routeLemonSqueezyApiTo } from "../../../emulator/lemonsqueezy-routing.ts";
import { credentialFingerprint, startProviderEmulator, type ProviderEmulator } from "../../../emulator/provider-emulator.ts";
import { PROVIDER_IDS } from "./provider.ts";
import { createBillingProvider, type ProviderSettings } from "./registry.server.ts";

const WITHOUT_KEYS: ProviderSettings = {
  provider: "stripe",
  stripe: { plans: {} },
  polar: { server: "sandbox", plans: {} },
  lemonsqueezy: { plans: {} },
};

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
beforeEach(() => emulator.reset());

describe("createBillingProvider", () => {
  it.each([
    ["stripe", "STRIPE_SECRET_KEY"],
    ["polar", "POLAR_ACCESS_TOKEN"],
    ["lemonsqueezy", "LEMONSQUEEZY_API_KEY"],
  ] as const)("refuses to build %s without its key outside emulation, naming %s", (provider, variable) => {
    expect(() => createBillingProvider({ ...WITHOUT_KEYS, provider })).toThrow(variable);
  });

  it("builds the provider that is asked for", () => {
    for (const provider of PROVIDER_IDS) {
      expect(createBillingProvider({ ...WITHOUT_KEYS, provider, emulatorOrigin: emulator.origin }).id).toBe(provider);
    }
  });

  it.each([
    ["stripe", "sk_test_emulated"],
    ["polar", "polar_oat_emulated"],
    ["lemonsqueezy", "emulated.lemonsqueezy.key"],
  ] as const)("points %s at the emulator with a placeholder key when none is given", async (provider, placeholder) => {
    const account = DEMO_ACCOUNTS.find((demo) => demo.customer?.provider === provider)!;
    const billing = createBillingProvider({ ...WITHOUT_KEYS, provider, emulatorOrigin: emulator.origin });

    const { url } = await billing.createPortal(
      { providerCustomerId: account.customer!.providerCustomerId },
      { returnUrl: "http://app.test/account" },
    );

    expect(new URL(url).origin).toBe(emulator.origin);
    expect(emulator.requests(provider)[0]!.auth?.fingerprint).toBe(credentialFingerprint(placeholder));
  });

  it("uses a given key in emulated mode", async () => {
    const billing = createBillingProvider({
      ...WITHOUT_KEYS,
      stripe: { apiKey: "sk_test_givenKey", plans: {} },
      emulatorOrigin: emulator.origin,
    });
    await billing.createPortal({ providerCustomerId: "cus_DemoStripe0001" }, { returnUrl: "http://app.test/account" });
    expect(emulator.requests("stripe")[0]!.auth?.fingerprint).toBe(credentialFingerprint("sk_test_givenKey"));
  });
});
