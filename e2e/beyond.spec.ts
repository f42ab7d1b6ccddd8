import { DEMO_ACCOUNTS } from "../app/demo/demo-accounts.ts";
import type { ProviderId } from "../app/billing/providers/provider.ts";
import { demoEmailFor, expect, test } from "./fixtures.ts";

// Issue 10 "Done when": dunning in one click and deep links, for each provider, JavaScript on and off.
// Each test first makes its user past due through the emulator's renewal control (the provider's real
// webhooks reach the app), so it does not depend on another test's order or on the seeded state.

const PAST_DUE = DEMO_ACCOUNTS[3];

/** Who is past due in each project: the SPEC's Stripe past-due user, else that provider's demo user. */
function pastDueEmail(provider: ProviderId): string {
  return provider === "stripe" ? PAST_DUE.email : demoEmailFor(provider);
}

const modes = [
  { javaScriptEnabled: true, label: "with JavaScript on" },
  { javaScriptEnabled: false, label: "with JavaScript off" },
];

for (const { javaScriptEnabled, label } of modes) {
  test.describe(`dunning and deep links ${label}`, () => {
    test.use({ javaScriptEnabled });

    test("a past-due user sees the alert on every page, updates the card in one click, and the alert is gone", async ({
      page,
      provider,
      app,
      emulator,
      signIn,
    }) => {
      const email = pastDueEmail(provider);
      await emulator.makePastDue(email);

      await signIn(email);
      const alert = page.getByTestId("dunning-alert");
      await expect(alert).toContainText("Your last payment failed");
      // Every signed-in page, not only the account page.
      await page.goto("/pricing");
      await expect(alert).toBeVisible();

      await alert.getByRole("button", { name: "Update payment method" }).click();
      await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
      if (provider === "polar") {
        // Polar has no deep links: its portal home, where the card is updated too.
        await expect(page.getByRole("heading", { level: 1 })).toContainText(/portal/i);
      } else {
        await expect(page.getByRole("heading", { name: "Update payment method" })).toBeVisible();
        await expect(page.getByRole("alert")).toContainText("failed");
      }
      await page.getByRole("button", { name: "Update card" }).click();

      if (provider === "stripe") {
        // The flow's after_completion redirect: straight back to the page the user was on.
        await expect(page).toHaveURL(`${app.baseURL}/pricing`);
      } else {
        await expect(page.getByRole("status")).toContainText(/updated|recovered|paid/i);
        await page.getByRole("link", { name: "Return to the app" }).click();
        await expect(page).toHaveURL((url) => url.origin === app.baseURL);
      }
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await expect(alert).toHaveCount(0);
    });

    test("a Stripe user's Cancel subscription opens the cancel confirmation for their own subscription", async ({ page, provider, signIn }) => {
      test.skip(provider !== "stripe", "Stripe's subscription_cancel flow; the other providers' deep links are covered above and in tests/beyond.test.ts");
      const stripeUser = DEMO_ACCOUNTS[0];
      await signIn(stripeUser.email);
      await page.getByRole("button", { name: "Cancel subscription" }).click();

      await expect(page.getByRole("heading", { name: "Cancel subscription" })).toBeVisible();
      await expect(page.locator("code", { hasText: stripeUser.subscription.providerSubscriptionId })).toBeVisible();
      await expect(page.getByText(PAST_DUE.subscription.providerSubscriptionId)).toHaveCount(0);
      await expect(page.getByRole("button", { name: "Cancel subscription" })).toBeVisible();
    });
  });
}
