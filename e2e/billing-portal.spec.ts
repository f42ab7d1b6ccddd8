import type { Page } from "@playwright/test";
import { PROVIDER_NAMES } from "../app/billing/providers/provider.ts";
import { DEMO_ACCOUNTS } from "../app/demo/demo-accounts.ts";
import { demoEmailFor, expect, failureTestEmailFor, test } from "./fixtures.ts";

// Runs once per provider project: each app is started with its own PAYMENT_PROVIDER.
// The app caches Lemon Squeezy portal links per customer, so the tests that make
// the provider fail sign in as a customer whose link no other test fetches
// (failureTestEmailFor): every test holds in any order.

async function expectPortalOf(page: Page, emulatorOrigin: string, email: string) {
  await expect(page).toHaveURL((url) => url.origin === emulatorOrigin);
  const account = DEMO_ACCOUNTS.find((a) => a.email === email)!;
  await expect(page.getByText(account.customer!.providerCustomerId, { exact: false }).first()).toBeVisible();
  await expect(page.getByText(account.email).first()).toBeVisible();
}

const modes = [
  { javaScriptEnabled: true, label: "with JavaScript on" },
  { javaScriptEnabled: false, label: "with JavaScript off" },
];

for (const { javaScriptEnabled, label } of modes) {
  test.describe(`when the provider fails, ${label}`, () => {
    test.use({ javaScriptEnabled });

    test("a failing provider gives a clear message, not an error page", async ({ page, provider, signIn, emulator }) => {
      await signIn(failureTestEmailFor(provider));
      // Stripe's SDK retries a 5xx once: fail both attempts.
      await emulator.failNext({ status: 500, times: 2 });
      await page.getByRole("button", { name: "Manage billing" }).click();
      await expect(page).toHaveURL(/\/account$/);
      await expect(page.getByRole("alert")).toContainText("Our payment provider is not answering right now");
      // The message shows once.
      await page.reload();
      await expect(page.getByRole("alert")).toHaveCount(0);
    });
  });
}

test("with JavaScript on, the button shows a pending state and the message arrives without a reload", async ({
  page,
  provider,
  signIn,
  emulator,
}) => {
  await signIn(failureTestEmailFor(provider));
  await emulator.failNext({ status: 429, retryAfterSeconds: 30, delayMs: 1500 });
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));

  await page.getByRole("button", { name: "Manage billing" }).click();
  await expect(page.getByRole("button", { name: "Opening billing portal…" })).toBeDisabled();
  await expect(page.getByRole("alert")).toContainText("Our payment provider is busy right now");
  expect(await page.evaluate(() => "sameDocument" in window)).toBe(true);
});

test("a user with no billing account is offered a plan, not a button that can only fail", async ({ page, signIn }) => {
  await signIn("nobody@demo.test");
  const billing = page.getByRole("region", { name: "Billing", exact: true });
  await expect(billing).toContainText("You have no subscription yet.");
  await expect(page.getByRole("button", { name: "Manage billing" })).toHaveCount(0);
  await billing.getByRole("link", { name: "Choose a plan" }).click();
  await expect(page).toHaveURL(/\/pricing$/);
});

test("a customer of another provider is told so once, with no button that can only fail", async ({ page, provider, signIn }) => {
  const other = DEMO_ACCOUNTS.find((a) => a.customer && a.customer.provider !== provider)!;
  await signIn(other.email);
  await expect(
    page.getByText(
      `Your billing account is with ${PROVIDER_NAMES[other.customer!.provider]}, but billing is now handled by ${PROVIDER_NAMES[provider]}`,
    ),
  ).toHaveCount(1);
  await expect(page.getByRole("button", { name: "Manage billing" })).toHaveCount(0);
  await expect(page.getByRole("alert")).toHaveCount(0);
});

for (const { javaScriptEnabled, label } of modes) {
  test.describe(label, () => {
    test.use({ javaScriptEnabled });

    test("Manage billing lands on the customer's own portal, whose link returns to the account page", async ({
      page,
      app,
      provider,
      signIn,
    }) => {
      const email = demoEmailFor(provider);
      await signIn(email);
      await page.getByRole("button", { name: "Manage billing" }).click();

      await expectPortalOf(page, app.emulatorOrigin, email);
      await expect(page.getByText(PROVIDER_NAMES[provider]).first()).toBeVisible();

      await page.getByRole("link", { name: /return to the app/i }).click();
      await expect(page).toHaveURL(`${app.baseURL}/account`);
      await expect(page.getByTestId("account-email")).toHaveText(email);
    });
  });
}

test("the seed's fetch('/api/payments/portal') example works from a page script", async ({
  page,
  app,
  provider,
  signIn,
}) => {
  await signIn(demoEmailFor(provider));
  const answer = await page.evaluate(async () => {
    const response = await fetch("/api/payments/portal", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ returnUrl: "/account" }),
    });
    return { status: response.status, body: (await response.json()) as { url?: string } };
  });
  expect(answer.status).toBe(200);
  expect(new URL(answer.body.url!).origin).toBe(app.emulatorOrigin);

  await page.goto(answer.body.url!);
  await expectPortalOf(page, app.emulatorOrigin, demoEmailFor(provider));
});
