import type { Browser, Page } from "@playwright/test";
import { expect, test } from "./fixtures.ts";

// Issue 17 "Done when" (the organisation side): an owner creates an organisation and subscribes it to Team, invites
// a colleague who accepts, the member sees the plan and no billing button, the owner opens the portal for the
// organisation. JavaScript on and off; once, on the Stripe app (the organisation code is the same for every provider).

const PASSWORD = "organisation-passphrase";

const modes = [
  { javaScriptEnabled: true, label: "with JavaScript on" },
  { javaScriptEnabled: false, label: "with JavaScript off" },
];

async function signUp(page: Page, email: string) {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: /create account/i }).click();
  await expect(page).toHaveURL(/\/account$/);
}

async function newPage(browser: Browser, baseURL: string, javaScriptEnabled: boolean) {
  const context = await browser.newContext({ baseURL, javaScriptEnabled });
  return { context, page: await context.newPage() };
}

for (const { javaScriptEnabled, label } of modes) {
  test.describe(`organisations ${label}`, () => {
    test.use({ javaScriptEnabled });
    test.beforeEach(({ provider }) => {
      test.skip(provider !== "stripe", "organisations do not depend on the provider");
      // Two people, a checkout and a portal: longer than one page's flow.
      test.setTimeout(120_000);
    });

    test("an owner's organisation subscribes, a colleague joins as member and sees the plan without billing buttons", async ({ page, app, browser }) => {
      const run = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      const ownerEmail = `owner-${run}@example.test`;
      const colleagueEmail = `colleague-${run}@example.test`;
      const name = `Team ${run}`;

      await signUp(page, ownerEmail);
      await page.goto("/orgs");
      await page.getByLabel("Name").fill(name);
      await page.getByRole("button", { name: "Create organisation" }).click();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
      await expect(page.getByText(`${ownerEmail} · Owner (you)`)).toBeVisible();

      // The organisation is the current one: its checkout, Team per seat.
      await page.goto("/pricing");
      await page.getByRole("button", { name: "Choose Team" }).click();
      await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
      await page.getByRole("button", { name: /^Pay / }).click();
      await expect(page).toHaveURL((url) => url.href.startsWith(`${app.baseURL}/account?checkout=success`));
      await expect(page.getByTestId("subscription-summary")).toHaveText(/^Team, active/);
      await expect(page.getByTestId("billing-owner")).toContainText(name);

      // The invitation: mailed, and its link shown once to copy.
      await page.goto("/orgs");
      await page.getByRole("link", { name }).click();
      await page.getByLabel("Email").fill(colleagueEmail);
      await page.getByLabel("Role", { exact: true }).selectOption("member");
      await page.getByRole("button", { name: "Send invitation" }).click();
      await expect(page.getByText(`Invitation sent to ${colleagueEmail}.`)).toBeVisible();
      const link = await page.getByLabel(/Invitation link/).inputValue();
      expect(link).toMatch(/\/invitations\/[A-Za-z0-9_-]{43}$/);

      const colleague = await newPage(browser, app.baseURL, javaScriptEnabled);
      try {
        await signUp(colleague.page, colleagueEmail);
        await colleague.page.goto(link);
        await expect(colleague.page.getByText(`You are invited to ${name} as member`)).toBeVisible();
        await colleague.page.getByRole("button", { name: `Accept and join ${name}` }).click();
        await expect(colleague.page.getByRole("heading", { level: 1 })).toHaveText(name);
        await expect(colleague.page.getByText(`${colleagueEmail} · Member (you)`)).toBeVisible();

        // The member sees the organisation's plan, and no billing button anywhere.
        await colleague.page.goto("/account");
        await expect(colleague.page.getByTestId("subscription-summary")).toHaveText(/^Team, active/);
        await expect(colleague.page.getByTestId("billing-members-only")).toHaveText("Only an owner or admin can manage billing.");
        await expect(colleague.page.getByRole("button", { name: "Manage billing" })).toHaveCount(0);
        await colleague.page.goto("/pricing");
        await expect(colleague.page.getByRole("button", { name: /^Choose / })).toHaveCount(0);
      } finally {
        await colleague.context.close();
      }

      // The owner sees two members, and opens the organisation's portal.
      await page.goto("/orgs");
      await page.getByRole("link", { name }).click();
      await expect(page.getByRole("heading", { name: "Members (2)" })).toBeVisible();
      await page.goto("/account");
      await page.getByRole("button", { name: "Manage billing" }).click();
      await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
      await expect(page.getByText(ownerEmail).first()).toBeVisible();
    });
  });
}
