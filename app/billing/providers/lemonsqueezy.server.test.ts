import { expectSafeProviderError } from "./provider-error-expectations.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { routeLemonSqueezyApiTo } from "../../../emulator/lemonsqueezy-routing.ts";
import {
  credentialFingerprint,
  EMULATOR_ONLY_CUSTOMER_IDS,
  startProviderEmulator,
  type ProviderEmulator,
} from "../../../emulator/provider-emulator.ts";
import { createLemonSqueezyProvider, type LemonSqueezyProviderOptions } from "./lemonsqueezy.server.ts";
import { ProviderError } from "./provider.ts";

const API_KEY = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGFwdGVyIn0.adapterSecret4242";
const CUSTOMER = DEMO_ACCOUNTS[2].customer.providerCustomerId;
const SECOND_CUSTOMER = EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezySecondSubscriber;
const HOUR_MS = 60 * 60 * 1000;

let emulator: ProviderEmulator;
let clock: number;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
  // The SDK's API origin is fixed; in the app, the composition root's emulated branch reroutes it like this.
  routeLemonSqueezyApiTo(emulator.origin);
});
afterAll(async () => {
  routeLemonSqueezyApiTo(emulator.origin)(); // undo the routing
  await emulator.close();
});
beforeEach(() => {
  emulator.reset();
  clock = Date.UTC(2026, 10, 25, 12);
});

function lemonSqueezy(options: Partial<LemonSqueezyProviderOptions> = {}) {
  return createLemonSqueezyProvider({
    apiKey: API_KEY,
    now: () => clock,
    ...options,
  });
}

function openPortal(provider = lemonSqueezy(), customerId: string = CUSTOMER) {
  return provider.createPortal({ providerCustomerId: customerId }, { returnUrl: "http://app.test/account" });
}

/** A call that must fail, with nothing of the provider's own text, the key or the customer in its error. */
function failure(call: Promise<unknown>): Promise<ProviderError> {
  return expectSafeProviderError(call, { secrets: [API_KEY, CUSTOMER], providerWording: /Not Found|Unauthorized|Unauthenticated|Internal Server Error|Too Many Requests|Unexpected token/ });
}

describe("Lemon Squeezy adapter", () => {
  it("reads the customer over JSON:API and returns its signed portal URL, valid for 24 hours", async () => {
    const { url } = await openPortal();

    const portal = new URL(url);
    expect(portal.origin).toBe(emulator.origin);
    expect(portal.searchParams.get("signature")).toMatch(/^[0-9a-f]{64}$/);
    const expiresMs = Number(portal.searchParams.get("expires")) * 1000;
    expect(Math.abs(expiresMs - (Date.now() + 24 * HOUR_MS))).toBeLessThan(60_000);
    const [request] = emulator.requests("lemonsqueezy");
    expect(request).toMatchObject({ method: "GET", path: `/v1/customers/${CUSTOMER}`, body: null });
    expect(request!.headers.accept).toBe("application/vnd.api+json");
    expect(request!.auth).toEqual({ scheme: "Bearer", fingerprint: credentialFingerprint(API_KEY) });
  });

  it("reports a customer without a subscription as having no portal", async () => {
    const error = await failure(openPortal(lemonSqueezy(), EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezyWithoutSubscription));
    expect(error.kind).toBe("no-portal");
  });

  it("reports a customer Lemon Squeezy does not know", async () => {
    expect((await failure(openPortal(lemonSqueezy(), "31337"))).kind).toBe("unknown-customer");
  });

  it("reports a refused API key", async () => {
    const error = await failure(openPortal(lemonSqueezy({ apiKey: "not-a-jwt" })));
    expect(error.kind).toBe("auth");
    expect(error.message).not.toContain("not-a-jwt");
  });

  it("reports a rate limit", async () => {
    emulator.failNext("lemonsqueezy", { retryAfterSeconds: 30 });
    expect((await failure(openPortal())).kind).toBe("rate-limited");
  });

  it("reports a server error as unavailable", async () => {
    emulator.failNext("lemonsqueezy", { status: 503 });
    expect((await failure(openPortal())).kind).toBe("unavailable");
  });

  it("reports a malformed answer as unavailable", async () => {
    emulator.failNext("lemonsqueezy", { malformed: true });
    expect((await failure(openPortal())).kind).toBe("unavailable");
  });

  describe("portal URL cache", () => {
    it("answers a repeat click for the same customer without calling the API", async () => {
      const provider = lemonSqueezy();
      const first = await openPortal(provider);
      clock += 11 * HOUR_MS;
      const second = await openPortal(provider);

      expect(second.url).toBe(first.url);
      expect(emulator.requests("lemonsqueezy")).toHaveLength(1);
    });

    it("never hands one customer's URL to another", async () => {
      const provider = lemonSqueezy();
      const first = await openPortal(provider, CUSTOMER);
      const second = await openPortal(provider, SECOND_CUSTOMER);

      expect(second.url).not.toBe(first.url);
      expect(new URL(second.url).pathname).toContain(SECOND_CUSTOMER);
      expect(emulator.requests("lemonsqueezy").map((request) => request.path)).toEqual([
        `/v1/customers/${CUSTOMER}`,
        `/v1/customers/${SECOND_CUSTOMER}`,
      ]);
    });

    it("fetches a fresh URL once the cached one is 12 hours old", async () => {
      const provider = lemonSqueezy();
      await openPortal(provider);
      clock += 12 * HOUR_MS;
      await openPortal(provider);

      expect(emulator.requests("lemonsqueezy")).toHaveLength(2);
    });

    it("keeps at most the configured number of customers", async () => {
      const provider = lemonSqueezy({ cacheSize: 1 });
      await openPortal(provider, CUSTOMER);
      await openPortal(provider, SECOND_CUSTOMER);
      await openPortal(provider, CUSTOMER);

      expect(emulator.requests("lemonsqueezy")).toHaveLength(3);
    });

    it("does not remember failures", async () => {
      const provider = lemonSqueezy();
      emulator.failNext("lemonsqueezy", { status: 500 });
      await failure(openPortal(provider));
      await expect(openPortal(provider)).resolves.toHaveProperty("url");

      expect(emulator.requests("lemonsqueezy")).toHaveLength(2);
    });
  });
});
