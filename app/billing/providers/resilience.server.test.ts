import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { routeLemonSqueezyApiTo } from "../../../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator, type ProviderEmulator } from "../../../emulator/provider-emulator.ts";
import { PROVIDER_IDS, ProviderError, type ProviderId } from "./provider.ts";
import { createBillingProvider, type ProviderSettings } from "./registry.server.ts";

// The shared policy as the registry applies it, against the real SDKs over HTTP to the emulator.

const BUDGET_MS = 1500;
/** Generous: these tests are about a hang, not about speed. */
const BUDGET_BOUND_MS = BUDGET_MS + 1500;
const RETURN_URL = "http://app.test/account";
const UNKNOWN_CUSTOMER: Record<ProviderId, string> = { stripe: "cus_Unknown999", polar: randomUUID(), lemonsqueezy: "999999" };

let emulator: ProviderEmulator;
let undoRouting: () => void;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: RETURN_URL });
  // The SDK's API origin is fixed; in the app, the composition root's emulated branch reroutes it like this.
  undoRouting = routeLemonSqueezyApiTo(emulator.origin);
});
afterAll(async () => {
  undoRouting();
  await emulator.close();
});
beforeEach(() => emulator.reset());

/** A closed socket reaches the server a moment later; a request left waiting stays for the whole 10 s delay. */
async function requestsStillWaiting(): Promise<number> {
  for (let waited = 0; emulator.requestsInFlight() > 0 && waited < 1000; waited += 25) await sleep(25);
  return emulator.requestsInFlight();
}

it("retries a Stripe call with the same Idempotency-Key, so Stripe treats both attempts as one request", async () => {
  const billing = createBillingProvider({
    provider: "stripe",
    stripe: { plans: {} },
    polar: { server: "sandbox", plans: {} },
    lemonsqueezy: { plans: {} },
    emulatorOrigin: emulator.origin,
    timeoutMs: BUDGET_MS,
  });
  emulator.failNext("stripe", { status: 503 });
  await billing.createPortal({ providerCustomerId: DEMO_ACCOUNTS[0].customer!.providerCustomerId }, { returnUrl: RETURN_URL });
  const [first, second] = emulator.requests("stripe");
  expect(first!.headers["idempotency-key"]).toMatch(/.{16,}/);
  expect(second!.headers["idempotency-key"]).toBe(first!.headers["idempotency-key"]);
});

describe.each(PROVIDER_IDS)("%s inside the resilience policy", (providerId) => {
  const customer = DEMO_ACCOUNTS.find((account) => account.customer?.provider === providerId)!.customer!;

  function provider(resilience: ProviderSettings["resilience"] = {}) {
    return createBillingProvider({
      provider: providerId,
      stripe: { plans: {} },
      polar: { server: "sandbox", plans: {} },
      lemonsqueezy: { plans: {} },
      emulatorOrigin: emulator.origin,
      timeoutMs: BUDGET_MS,
      resilience,
    });
  }

  async function attempt(billing = provider(), providerCustomerId: string = customer.providerCustomerId) {
    const started = performance.now();
    const outcome = await billing.createPortal({ providerCustomerId }, { returnUrl: RETURN_URL }).then(
      (portal) => portal,
      (error: unknown) => {
        if (!(error instanceof ProviderError)) throw error;
        return error;
      },
    );
    return { outcome, elapsedMs: performance.now() - started };
  }

  const providerCalls = () => emulator.requests(providerId).length;

  it("gives up on a hanging provider within the budget and closes the connections it opened", async () => {
    const billing = provider();
    emulator.failNext(providerId, { delayMs: 10_000, times: 3 });

    const attempts = await Promise.all([attempt(billing), attempt(billing), attempt(billing)]);

    for (const { outcome, elapsedMs } of attempts) {
      expect(outcome).toMatchObject({ kind: "timeout" });
      expect(elapsedMs).toBeLessThan(BUDGET_BOUND_MS);
    }
    expect(providerCalls()).toBe(3);
    expect(await requestsStillWaiting()).toBe(0);
  });

  it("refuses a call past its bound of calls in flight at once (busy, retry in a second) without calling the provider", async () => {
    const billing = provider({ maxConcurrentCalls: 2 });
    emulator.failNext(providerId, { delayMs: 300, times: 2 });
    const inFlight = [attempt(billing), attempt(billing)];
    const refused = await attempt(billing);
    expect(refused.outcome).toMatchObject({ kind: "rate-limited", retryAfterSeconds: 1 });
    for (const { outcome } of await Promise.all(inFlight)) expect(outcome).toHaveProperty("url");
    expect(providerCalls()).toBe(2);
    // The slots are free again, and the refusal opened no circuit.
    expect((await attempt(billing)).outcome).toHaveProperty("url");
  });

  it("retries a server error once, within the budget, and succeeds when the retry does", async () => {
    emulator.failNext(providerId, { status: 503 });
    const { outcome } = await attempt();
    expect(outcome).toHaveProperty("url");
    expect(providerCalls()).toBe(2);
  });

  it("costs at most two provider calls for repeated server errors, and stays within the budget", async () => {
    emulator.failNext(providerId, { status: 500, times: 5 });
    const { outcome, elapsedMs } = await attempt();
    expect(outcome).toMatchObject({ kind: "unavailable" });
    expect(providerCalls()).toBe(2);
    expect(elapsedMs).toBeLessThan(BUDGET_BOUND_MS);
  });

  it("passes a rate limit's Retry-After on, without retrying", async () => {
    emulator.failNext(providerId, { status: 429, retryAfterSeconds: 17, times: 2 });
    const { outcome } = await attempt();
    expect(outcome).toMatchObject({ kind: "rate-limited", retryAfterSeconds: 17 });
    expect(providerCalls()).toBe(1);
  });

  it("opens after repeated failures, answering at once without calling the provider, and closes after a good trial call", async () => {
    const billing = provider({ breakerFailures: 3, breakerCoolDownMs: 1500 });
    emulator.failNext(providerId, { status: 500, times: 6 });
    for (let failed = 0; failed < 3; failed++) expect((await attempt(billing)).outcome).toMatchObject({ kind: "unavailable" });
    const callsWhenOpened = providerCalls();

    // The provider still hangs: an open circuit must not wait for it.
    emulator.failNext(providerId, { delayMs: 10_000 });
    const refused = await attempt(billing);
    expect(refused.outcome).toBeInstanceOf(ProviderError);
    expect(refused.outcome).toMatchObject({ kind: "circuit-open" });
    expect((refused.outcome as ProviderError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((refused.outcome as ProviderError).retryAfterSeconds).toBeLessThanOrEqual(2);
    expect(refused.elapsedMs).toBeLessThan(BUDGET_MS);
    expect(providerCalls()).toBe(callsWhenOpened);

    emulator.reset();
    await sleep(1600);
    expect((await attempt(billing)).outcome).toHaveProperty("url"); // the trial call
    expect(providerCalls()).toBe(1);
    expect((await attempt(billing, UNKNOWN_CUSTOMER[providerId])).outcome).toMatchObject({ kind: "unknown-customer" });
    expect(providerCalls()).toBe(2); // closed again: calls reach the provider
  });

  it("does not count a customer the provider does not know as a provider failure", async () => {
    const billing = provider({ breakerFailures: 2 });
    for (let call = 0; call < 3; call++) {
      expect((await attempt(billing, UNKNOWN_CUSTOMER[providerId])).outcome).toMatchObject({ kind: "unknown-customer" });
    }
    expect(providerCalls()).toBe(3);
  });
});
