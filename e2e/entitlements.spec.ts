import type { Page } from "@playwright/test";
import { DEMO_ACCOUNTS } from "../app/demo/demo-accounts.ts";
import { expect, test } from "./fixtures.ts";

// Issue 18 "Done when", JavaScript on and off (Stripe, the provider with every deep link): a Starter owner hits
// the project limit and upgrades through the change_plan deep link; a past-due owner keeps Pro during the grace;
// a trial starts and shows its end. The Starter owner also chose the plan while signed out and kept it through
// signing up.

const STRIPE_PRO = DEMO_ACCOUNTS[0];

function freshEmail(label: string): string {
  return `ent-${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

/** Pays on the emulated hosted checkout and comes back to the account page. */
async function payOnCheckout(page: Page, baseURL: string, button: RegExp) {
  await page.getByRole("button", { name: button }).click();
  await expect(page).toHaveURL((url) => url.href.startsWith(`${baseURL}/account?checkout=success`));
}

async function createProject(page: Page, name: string) {
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create project" }).click();
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`entitlements with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("a Starter owner (plan chosen while signed out) hits the project limit and upgrades through the deep link", async ({ page, app, provider }) => {
      test.skip(provider !== "stripe", "Stripe's subscription_update deep link");
      // A long flow (signup, checkout, four projects, the portal, back): a bound for hangs on a busy machine.
      test.setTimeout(90_000);
      // Signed out: the choice survives login → "Create an account" → signing up.
      await page.goto("/pricing");
      await expect(page.getByTestId("plan-starter")).toContainText("3 projects");
      await expect(page.getByTestId("plan-pro")).toContainText("Reports: included");
      await page.getByRole("button", { name: "Log in to choose Starter" }).click();
      await expect(page).toHaveURL(/\/login\?redirectTo=%2Fpricing%3Fplan%3Dstarter$/);
      await page.getByRole("link", { name: "Create an account" }).click();
      await page.getByLabel("Email").fill(freshEmail("starter"));
      await page.getByLabel("Password").fill("a-long-enough-password");
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page).toHaveURL(/\/pricing\?plan=starter$/);
      await expect(page.getByTestId("chosen-plan")).toContainText("You chose Starter");
      await page.getByRole("button", { name: "Choose Starter" }).click();
      await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
      await payOnCheckout(page, app.baseURL, /^Pay /);
      await expect(page.getByTestId("subscription-summary")).toHaveText(/^Starter, active/);

      await page.goto("/projects");
      for (const name of ["Alpha", "Beta", "Gamma"]) await createProject(page, name);
      await expect(page.getByTestId("projects-usage")).toHaveText("3 of 3 projects");
      await createProject(page, "Delta");
      await expect(page.getByRole("alert")).toHaveText("Your plan (Starter) allows 3 projects. Upgrade to add more.");
      await expect(page.getByTestId("projects")).not.toContainText("Delta");

      // Upgrade: the portal's plan change for this subscription (Stripe's subscription_update flow).
      await page.getByTestId("projects-upgrade").getByRole("button", { name: "Upgrade" }).click();
      await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
      await page.getByRole("button", { name: /^Switch to Pro/ }).click();
      await expect(async () => {
        await page.goto(`${app.baseURL}/projects`);
        await expect(page.getByTestId("projects-usage")).toHaveText("3 of 50 projects", { timeout: 500 });
      }).toPass({ timeout: 15_000 });
      await createProject(page, "Delta");
      await expect(page.getByTestId("projects-usage")).toHaveText("4 of 50 projects");
      await page.goto("/reports");
      await expect(page.getByRole("heading", { name: "Reports" })).toBeVisible();
    });

    test("a past-due owner keeps Pro during the grace, and the account page says until when", async ({ page, provider, emulator, signIn }) => {
      test.skip(provider !== "stripe", "one provider is enough: the rule is the same for all (app/entitlements)");
      await emulator.makePastDue(STRIPE_PRO.email);
      await signIn(STRIPE_PRO.email);
      await expect(page.getByTestId("dunning-alert")).toBeVisible();
      await expect(page.getByTestId("plan-grants")).toHaveText(/^Pro: kept until \w+ \d+, \d{4} while the payment is retried$/);
      await page.goto("/reports");
      await expect(page.getByRole("heading", { name: "Reports" })).toBeVisible();
    });

    test("a trial starts at checkout and the account page shows its end", async ({ page, app, provider }) => {
      test.skip(provider !== "stripe", "trials per provider are covered in tests/trials.test.ts");
      await page.goto("/signup");
      await page.getByLabel("Email").fill(freshEmail("trial"));
      await page.getByLabel("Password").fill("a-long-enough-password");
      await page.getByRole("button", { name: "Create account" }).click();
      // Signed in once the account page is there (with JavaScript the sign-up is a fetch; going on earlier raced it).
      await expect(page).toHaveURL(/\/account$/);
      await page.goto("/pricing");
      await expect(page.getByTestId("trial-pro")).toHaveText("14-day free trial on your first subscription");
      await page.getByRole("button", { name: "Choose Pro" }).click();
      await expect(page.getByText("14 days, then $29 / month")).toBeVisible();
      await payOnCheckout(page, app.baseURL, /^Pay \$0 today and start the 14-day free trial$/);
      const end = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" }).format(new Date(Date.now() + 14 * 86_400_000));
      await expect(page.getByTestId("subscription-summary")).toHaveText(`Pro, on trial, trial ends on ${end}`);
      await expect(page.getByTestId("plan-grants")).toHaveText(`Pro: trial ends on ${end}`);
    });
  });
}
