import { test as base, expect, type Page } from "@playwright/test";
import type { ProviderId } from "../app/billing/providers/provider.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "../app/demo/demo-accounts.ts";
import { E2E_APPS, type E2EApp } from "./apps.ts";
import { FAILURE_TEST_CUSTOMERS } from "./failure-test-customers.ts";

type Failure = { status?: number; delayMs?: number; malformed?: boolean; retryAfterSeconds?: number; times?: number };

type Fixtures = {
  provider: ProviderId;
  app: E2EApp;
  /** The emulator behind this project's app: inject failures, read what arrived. */
  emulator: {
    failNext(failure: Failure): Promise<void>;
    requestCount(): Promise<number>;
  };
  /** Signs in through the real login form. */
  signIn(email: string): Promise<void>;
};

export const test = base.extend<Fixtures>({
  provider: ["stripe", { option: true }],
  app: async ({ provider }, use) => {
    await use(E2E_APPS.find((app) => app.provider === provider)!);
  },
  emulator: async ({ app, playwright }, use) => {
    const api = await playwright.request.newContext({ baseURL: app.emulatorOrigin });
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
    });
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
