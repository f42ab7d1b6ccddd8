import { DEMO_PASSWORD } from "../app/demo/demo-accounts.ts";
import { expect, test } from "./fixtures.ts";

// Runs in the "behind-tls-proxy" project: the browser speaks https to e2e/tls-proxy.ts, which
// forwards plain http to a production app (APP_URL=https://…, TRUST_PROXY=1), as a load balancer would.

for (const javaScriptEnabled of [true, false]) {
  test.describe(`behind a TLS-terminating proxy, JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("a user signs in, opens the billing portal and signs out", async ({ page, context, proxied }) => {
      await page.goto("/login");
      await page.getByLabel("Email").fill("stripe@demo.test");
      await page.getByLabel("Password").fill(DEMO_PASSWORD);
      await page.getByRole("button", { name: /log in/i }).click();
      await expect(page).toHaveURL(`${proxied.baseURL}/account`);

      // The session cookie is marked Secure: the app knows it is served over https.
      const session = (await context.cookies()).find((cookie) => cookie.name === "__session");
      expect(session?.secure).toBe(true);

      await page.getByRole("button", { name: "Manage billing" }).click();
      await expect(page).toHaveURL((url) => url.origin === proxied.emulatorOrigin);
      await page.getByRole("link", { name: /return to the app/i }).click();
      await expect(page).toHaveURL(`${proxied.baseURL}/account`);

      await page.getByRole("button", { name: "Log out" }).click();
      await expect(page.getByRole("banner").getByRole("link", { name: "Log in" })).toBeVisible();
      await page.goto("/account");
      await expect(page).toHaveURL(/\/login\?redirectTo=%2Faccount$/);
    });
  });
}

test("signing up behind the proxy works too", async ({ page, proxied }) => {
  const email = `proxied-${Date.now()}@example.test`;
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a-long-enough-password");
  await page.getByRole("button", { name: /sign up|create account/i }).click();
  await expect(page).toHaveURL(`${proxied.baseURL}/account`);
  await expect(page.getByTestId("account-email")).toHaveText(email);
});
