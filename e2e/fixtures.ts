import { test as base, expect, type Page } from "@playwright/test";
import type { ProviderId } from "../app/billing/providers/provider.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "../app/demo/demo-accounts.ts";
import { type E2EApp, laneApps, laneOf, proxiedApp, type ProxiedApp } from "./apps.ts";
import { FAILURE_TEST_CUSTOMERS } from "./failure-test-customers.ts";

type Failure = { status?: number; delayMs?: number; malformed?: boolean; retryAfterSeconds?: number; times?: number };

/** Where held webhooks go: the discard port, where nothing listens (connection refused at once). */
const HELD_WEBHOOKS_URL = "http://127.0.0.1:9/webhooks";

type Fixtures = {
  provider: ProviderId;
  /** The "behind-tls-proxy" project: the browser goes through the lane's TLS proxy. */
  behindProxy: boolean;
  /** This test's lane's app for the project's provider (e2e/apps.ts). */
  app: E2EApp;
  /** This test's lane's production app behind the TLS proxy. */
  proxied: ProxiedApp;
  /** The emulator behind this project's app: inject failures, read what arrived. */
  emulator: {
    failNext(failure: Failure): Promise<void>;
    requestCount(): Promise<number>;
    /** Points the emulator's webhooks at an address nothing answers: the app hears of no change until release. */
    holdWebhooks(): Promise<void>;
    /** Points the webhooks back at the app and delivers again, in order, every event held since holdWebhooks. */
    releaseWebhooks(): Promise<void>;
    /**
     * Fails the next renewal of a demo user's subscription at this provider (the emulator's test control):
     * the provider's real webhooks make it past due in the app, whatever earlier tests did to it.
     */
    makePastDue(email: string): Promise<void>;
  };
  /** Signs in through the real login form. */
  signIn(email: string): Promise<void>;
};

export const test = base.extend<Fixtures>({
  provider: ["stripe", { option: true }],
  behindProxy: [false, { option: true }],
  app: async ({ provider }, use, testInfo) => {
    await use(laneApps(laneOf(testInfo.parallelIndex)).find((app) => app.provider === provider)!);
  },
  // Playwright reads a fixture's dependencies from its first parameter's pattern: none here.
  // oxlint-disable-next-line no-empty-pattern
  proxied: async ({}, use, testInfo) => {
    await use(proxiedApp(laneOf(testInfo.parallelIndex)));
  },
  baseURL: async ({ app, proxied, behindProxy }, use) => {
    await use(behindProxy ? proxied.baseURL : app.baseURL);
  },
  emulator: async ({ app, playwright }, use) => {
    const api = await playwright.request.newContext({ baseURL: app.emulatorOrigin });
    const registerWebhooks = async (url: string) => {
      // No secrets: the emulator keeps signing with the ones it handed the app at start.
      const response = await api.post("/__emulator/webhooks", { data: { url } });
      expect(response.ok()).toBe(true);
    };
    await api.post("/__emulator/reset");
    await use({
      async failNext(failure) {
        const response = await api.post("/__emulator/failures", { data: { provider: app.provider, ...failure } });
        expect(response.ok()).toBe(true);
      },
      async requestCount() {
        const response = await api.get(`/__emulator/requests?provider=${app.provider}`);
        const body = (await response.json()) as { requests?: unknown[] } | unknown[];
        return (Array.isArray(body) ? body : (body.requests ?? [])).length;
      },
      async holdWebhooks() {
        await registerWebhooks(HELD_WEBHOOKS_URL);
      },
      async releaseWebhooks() {
        await registerWebhooks(`${app.baseURL}/webhooks`);
        const response = await api.get(`/__emulator/deliveries?provider=${app.provider}`);
        const deliveries = (await response.json()) as { id: string; url: string | null }[];
        for (const delivery of deliveries.filter((d) => d.url?.startsWith(HELD_WEBHOOKS_URL))) {
          expect((await api.post(`/__emulator/deliveries/${delivery.id}/redeliver`, { data: {} })).ok()).toBe(true);
        }
      },
      async makePastDue(email) {
        const customerId = DEMO_ACCOUNTS.find((account) => account.email === email)!.customer!.providerCustomerId;
        const subscriptions = (await (await api.get(`/__emulator/subscriptions?provider=${app.provider}`)).json()) as {
          id: string;
          customerId: string;
        }[];
        // The emulator's id for the subscription (its Polar demo id differs from the seed's).
        const { id } = subscriptions.find((subscription) => subscription.customerId === customerId)!;
        const response = await api.post(`/__emulator/subscriptions/${app.provider}/${encodeURIComponent(id)}/renewal`, {
          data: { outcome: "failed" },
        });
        expect(response.ok()).toBe(true);
      },
    });
    // Whatever the test did, later tests get webhooks delivered to the app again.
    await registerWebhooks(`${app.baseURL}/webhooks`);
    await api.post("/__emulator/reset");
    await api.dispose();
  },
  signIn: async ({ page }, use) => {
    await use((email) => signInThroughForm(page, email));
  },
});

export async function signInThroughForm(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: /log in/i }).click();
  await expect(page).toHaveURL(/\/account$/);
}

export function demoEmailFor(provider: ProviderId): string {
  return DEMO_ACCOUNTS.find((account) => account.customer?.provider === provider)!.email;
}

/** Who a test that makes the provider fail signs in as: a customer no successful test uses. */
export function failureTestEmailFor(provider: ProviderId): string {
  return FAILURE_TEST_CUSTOMERS[provider]?.email ?? demoEmailFor(provider);
}

export { expect };
