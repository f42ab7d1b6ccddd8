import { DEMO_PASSWORD } from "../app/demo/demo-accounts.ts";
import { expect, test } from "./fixtures.ts";

// SPEC: in development, opening the app on another loopback name (127.0.0.1 for localhost) works or
// redirects to APP_URL; it is never refused as "another site". The e2e apps run with APP_URL=http://localhost:….

for (const javaScriptEnabled of [true, false]) {
  test(`opened on 127.0.0.1, a user signs in, opens the portal and signs out (JavaScript ${javaScriptEnabled ? "on" : "off"})`, async ({
    browser,
    app,
  }) => {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const loopback = app.baseURL.replace("localhost", "127.0.0.1");

    await page.goto(`${loopback}/login`);
    await page.getByLabel("Email").fill("stripe@demo.test");
    await page.getByLabel("Password").fill(DEMO_PASSWORD);
    await page.getByRole("button", { name: /log in/i }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByText("This request came from another site")).toHaveCount(0);

    await page.getByRole("button", { name: "Manage billing" }).click();
    await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
    await page.getByRole("link", { name: /return to the app/i }).click();
    await expect(page).toHaveURL(/\/account$/);

    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("banner").getByRole("link", { name: "Log in" })).toBeVisible();
    await context.close();
  });
}
