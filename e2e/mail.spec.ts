import type { APIRequestContext, Page } from "@playwright/test";
import { expect, test } from "./fixtures.ts";

// Issue 19's "Done when": mail flows read from the emulator's local mailbox (a real SMTP catcher).
// Once, on the Stripe app: the mail code is the same whichever provider is active.

type CaughtMail = { to: string[]; subject: string; text: string; html: string };

async function mailTo(api: APIRequestContext, email: string, subject: RegExp, timeout = 10_000): Promise<CaughtMail> {
  let found: CaughtMail | undefined;
  await expect(async () => {
    const mails = (await (await api.get(`/__emulator/mail?to=${encodeURIComponent(email)}`)).json()) as CaughtMail[];
    found = mails.findLast((mail) => subject.test(mail.subject));
    expect(found).toBeDefined();
  }).toPass({ timeout, intervals: [100, 200, 250] });
  return found!;
}

async function signUp(page: Page, password: string): Promise<string> {
  const email = `mail-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.test`;
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: /create account/i }).click();
  await expect(page).toHaveURL(/\/account$/);
  return email;
}

test.beforeEach(({ provider }) => {
  test.skip(provider !== "stripe", "mail does not depend on the provider");
});

test("forgot password: the mail reaches the local mailbox, the new password signs in, the old session elsewhere is signed out", async ({
  page,
  browser,
  app,
  playwright,
}) => {
  const api = await playwright.request.newContext({ baseURL: app.emulatorOrigin });
  const email = await signUp(page, "first-long-passphrase");

  // Another browser, signed out: the person who forgot.
  const other = await browser.newContext();
  const forgetful = await other.newPage();
  await forgetful.goto(`${app.baseURL}/login`);
  await forgetful.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(forgetful).toHaveURL(/\/forgot-password$/);
  await forgetful.getByLabel("Email").fill(email);
  const asked = Date.now();
  await forgetful.getByRole("button", { name: "Send the reset link" }).click();
  await expect(forgetful.getByText("If an account exists for that email")).toBeVisible();

  // Target: in the mailbox within 2 s of the request.
  const mail = await mailTo(api, email, /Reset your PortalStack password/, 2_000);
  expect(Date.now() - asked).toBeLessThan(2_000);
  const link = /http:\/\/\S+\/reset-password\?token=[\w-]+/.exec(mail.text)![0];

  await forgetful.goto(link);
  await forgetful.getByLabel("New password").fill("second-long-passphrase");
  await forgetful.getByRole("button", { name: "Save and sign in" }).click();
  await expect(forgetful).toHaveURL(`${app.baseURL}/account`);
  await expect(forgetful.getByTestId("account-email")).toHaveText(email);

  // The first browser's session ended with the reset.
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Faccount$/);
  await other.close();
  await api.dispose();
});

test("a failed renewal sends the payment-failed mail whose button opens the payment-method page", async ({ page, app, playwright }) => {
  const api = await playwright.request.newContext({ baseURL: app.emulatorOrigin });
  const email = await signUp(page, "third-long-passphrase");
  const before = new Set(((await (await api.get("/__emulator/subscriptions?provider=stripe")).json()) as { id: string }[]).map((s) => s.id));

  await page.goto("/pricing");
  await page.getByRole("button", { name: "Choose Pro" }).click();
  await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
  await page.getByRole("button", { name: /^Pay / }).click();
  // The success URL names the checkout (confirmation on return): ?checkout=success&session_id=…
  await expect(page).toHaveURL((url) => url.origin === app.baseURL && url.pathname === "/account" && url.searchParams.get("checkout") === "success");
  await mailTo(api, email, /subscription has started/);

  const subscriptions = (await (await api.get("/__emulator/subscriptions?provider=stripe")).json()) as { id: string }[];
  const created = subscriptions.find((subscription) => !before.has(subscription.id))!;
  const renewal = await api.post(`/__emulator/subscriptions/stripe/${encodeURIComponent(created.id)}/renewal`, { data: { outcome: "failed" } });
  expect(renewal.ok()).toBe(true);

  const mail = await mailTo(api, email, /Your payment failed/);
  // The mail's button: the link whose content (React Email wraps it in spans) says "Update payment method".
  const button = /<a[^>]+href="([^"]+)"[^>]*>(?:(?!<\/a>)[\s\S])*Update payment method/.exec(mail.html)?.[1];
  expect(button).toBe(`${app.baseURL}/billing/payment-method`);
  await page.goto(button!);
  await page.getByRole("main").getByRole("button", { name: "Update payment method" }).click();
  await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
  await expect(page.getByRole("heading", { name: "Update payment method" })).toBeVisible();
  await api.dispose();
});
