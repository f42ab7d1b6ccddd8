import { DEMO_PASSWORD } from "../app/demo/demo-accounts.ts";
import { expect, signInThroughForm, test } from "./fixtures.ts";

test("a new user signs up, sees their account, and logs out", async ({ page, baseURL }) => {
  const email = `new-${Date.now()}@example.test`;
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a-long-enough-password");
  await page.getByRole("button", { name: /sign up|create account/i }).click();

  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByRole("banner")).toContainText(email);

  await page.getByRole("button", { name: "Log out" }).click();
  // The logout POST and its redirect home must finish first: navigating now would cancel them.
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Log in" })).toBeVisible();
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Faccount$/);
});

test("a demo user logs in with the documented password", async ({ page }) => {
  await signInThroughForm(page, "stripe@demo.test");
  await expect(page.getByTestId("account-email")).toHaveText("stripe@demo.test");
});

test("a wrong password shows one generic message and keeps the email", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill("stripe@demo.test");
  await page.getByLabel("Password").fill("not-the-password");
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname.startsWith("/login")),
    page.getByRole("button", { name: /log in/i }).click(),
  ]);
  expect(response.status()).toBe(400);
  await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
  await expect(page.getByLabel("Email")).toHaveValue("stripe@demo.test");
  await expect(page).toHaveURL(/\/login/);
});

test("signing in from a protected page returns there", async ({ page, baseURL }) => {
  // Not the default landing page (/account): a login that ignored redirectTo would lose the query.
  await page.goto("/account?from=email-link");
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Faccount%3Ffrom%3Demail-link$/);
  await page.getByLabel("Email").fill("polar@demo.test");
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: /log in/i }).click();
  await expect(page).toHaveURL(`${baseURL}/account?from=email-link`);
  await expect(page.getByTestId("account-email")).toHaveText("polar@demo.test");
});

test("a redirectTo off this app is ignored", async ({ page }) => {
  await page.goto("/login?redirectTo=%2F%2Fevil.test%2Fphish");
  await page.getByLabel("Email").fill("polar@demo.test");
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: /log in/i }).click();
  await expect(page).toHaveURL(/^http:\/\/localhost:\d+\/account$/);
});

test("a copied session cookie stops working after logout", async ({ page, browser, baseURL }) => {
  await signInThroughForm(page, "lemon@demo.test");
  const copied = await page.context().cookies();
  expect(copied.some((cookie) => cookie.name === "__session")).toBe(true);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(`${baseURL}/`);

  const thief = await browser.newContext({ baseURL });
  await thief.addCookies(copied);
  const stolen = await thief.newPage();
  await stolen.goto("/account");
  await expect(stolen).toHaveURL(/\/login\?redirectTo=%2Faccount$/);
  await thief.close();
});

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });

  test("login, the account page and logout work as plain HTML forms", async ({ page }) => {
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?redirectTo=%2Faccount$/);
    await page.getByLabel("Email").fill("lemon@demo.test");
    await page.getByLabel("Password").fill(DEMO_PASSWORD);
    await page.getByRole("button", { name: /log in/i }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("account-email")).toHaveText("lemon@demo.test");

    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Log in" })).toBeVisible();
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?redirectTo=%2Faccount$/);
  });

  test("settings, reached from the account page by keyboard, change the password as plain HTML forms", async ({ page }) => {
    const email = `settings-${Date.now()}@example.test`;
    await page.goto("/signup");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("a-long-enough-password");
    await page.getByRole("button", { name: /sign up|create account/i }).click();
    await expect(page).toHaveURL(/\/account$/);

    await page.getByRole("link", { name: /change your password/i }).focus();
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/\/settings$/);
    const passwordForm = page.getByRole("region", { name: "Change password" });
    await passwordForm.getByLabel("Current password").fill("a-long-enough-password");
    await passwordForm.getByLabel("New password").fill("password");
    await passwordForm.getByRole("button", { name: "Change password" }).click();
    // A common password is refused, with the reason, and the old one still holds.
    await expect(page.getByRole("alert")).toContainText(/common/i);

    await passwordForm.getByLabel("Current password").fill("a-long-enough-password");
    await passwordForm.getByLabel("New password").fill("another-long-passphrase");
    await passwordForm.getByRole("button", { name: "Change password" }).click();
    await expect(passwordForm.getByRole("status")).toContainText("Your password is changed");

    await page.getByRole("button", { name: "Log out" }).click();
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("another-long-passphrase");
    await page.getByRole("button", { name: /log in/i }).click();
    await expect(page).toHaveURL(/\/account$/);
  });

  test("a wrong password shows the generic message without JavaScript", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Email").fill("nobody@demo.test");
    await page.getByLabel("Password").fill("wrong-password!");
    await page.getByRole("button", { name: /log in/i }).click();
    await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
    await expect(page.getByLabel("Email")).toHaveValue("nobody@demo.test");
  });
});

test("a form on another site cannot post to this app", async ({ page, baseURL }) => {
  await signInThroughForm(page, "stripe@demo.test");
  // SPEC: 403 for a cross-site write; the server entry refuses a foreign Origin before React Router.
  for (const [action, status] of [
    ["/logout", 403],
    ["/billing/portal", 403],
    ["/login", 403],
  ] as const) {
    await page.route("http://evil.test/", (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<form method="post" action="${baseURL}${action}"><input name="email" value="x@evil.test"><button>Go</button></form>`,
      }),
    );
    await page.goto("http://evil.test/");
    const [response] = await Promise.all([page.waitForResponse(`${baseURL}${action}`), page.getByRole("button").click()]);
    expect(response.status()).toBe(status);
  }
  // Still signed in: the cross-site logout did nothing.
  await page.goto("/account");
  await expect(page.getByTestId("account-email")).toHaveText("stripe@demo.test");
});
