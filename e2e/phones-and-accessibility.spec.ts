import { AxeBuilder } from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { DEMO_PASSWORD } from "../app/demo/demo-accounts.ts";
import { demoEmailFor, expect, signInThroughForm, test } from "./fixtures.ts";

// SPEC "Account page", last bullet (issue 7 item 7): every page works at 320 px wide without
// horizontal scrolling, has no serious or critical axe violations (signed in and out), and after
// a failed attempt focus moves to the message; keyboard focus is visible (3:1 against its background).
// The pages are the same for every provider: this file runs in the Stripe project only.

async function expectNoHorizontalScrolling(page: Page) {
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
  expect(widths.viewport).toBe(320);
  expect(widths.page, "the page is wider than the phone").toBeLessThanOrEqual(320);
}

async function expectNoSeriousAxeViolations(page: Page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  expect(serious).toEqual([]);
}

async function expectFitsAPhoneAndPassesAxe(page: Page) {
  await expectNoHorizontalScrolling(page);
  await expectNoSeriousAxeViolations(page);
}

test.describe("on a 320 px phone", () => {
  test.use({ viewport: { width: 320, height: 640 } });

  test.describe("signed out", () => {
    for (const path of ["/", "/login", "/signup", "/forgot-password", "/reset-password?token=not-a-token", "/pricing", "/no-such-page"]) {
      test(`${path} fits and has no serious accessibility violations`, async ({ page }) => {
        await page.goto(path);
        await expectFitsAPhoneAndPassesAxe(page);
      });
    }
  });

  test.describe("signed in", () => {
    for (const [who, paths] of [
      ["stripe@demo.test", ["/", "/account", "/settings", "/no-such-page"]],
      ["stripe@demo.test", ["/projects", "/reports", "/pricing"]],
      ["pastdue@demo.test", ["/account"]],
      // Starter: the reports page is the 403 with its Upgrade button.
      ["polar@demo.test", ["/account", "/reports"]],
      ["nobody@demo.test", ["/account", "/pricing", "/projects", "/reports"]],
    ] as const) {
      test(`${paths.join(", ")} for ${who} fit and have no serious accessibility violations`, async ({ page, emulator }) => {
        // The past-due user's page with its alert, whatever earlier tests did to that subscription.
        if (who === "pastdue@demo.test") await emulator.makePastDue(who);
        await signInThroughForm(page, who);
        if (who === "pastdue@demo.test") await expect(page.getByTestId("dunning-alert")).toBeVisible();
        for (const path of paths) {
          await test.step(path, async () => {
            await page.goto(path);
            await expectFitsAPhoneAndPassesAxe(page);
          });
        }
      });
    }
  });

  test("the emulated checkout page fits and has no serious accessibility violations", async ({ page, app }) => {
    await signInThroughForm(page, "nobody@demo.test");
    await page.goto("/pricing");
    await page.getByRole("button", { name: "Choose Pro" }).click();
    await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
    await expectFitsAPhoneAndPassesAxe(page);
  });

  test("the emulated portal page fits and has no serious accessibility violations", async ({ page, app }) => {
    await signInThroughForm(page, demoEmailFor("stripe"));
    await page.getByRole("button", { name: "Manage billing" }).click();
    await expect(page).toHaveURL((url) => url.origin === app.emulatorOrigin);
    await expectFitsAPhoneAndPassesAxe(page);
  });
});

test.describe("the page that is not there", () => {
  test("has a title and the site header, signed out and signed in", async ({ page }) => {
    for (const signedIn of [false, true]) {
      if (signedIn) await signInThroughForm(page, "stripe@demo.test");
      const response = await page.goto("/no-such-page");
      expect(response?.status()).toBe(404);
      await expect(page).toHaveTitle("Page not found · PortalStack");
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
      const header = page.getByRole("banner");
      await expect(header.getByRole("link", { name: "PortalStack" })).toBeVisible();
      await expect(header.getByRole("navigation", { name: "Account" }).getByRole("link")).not.toHaveCount(0);
    }
  });
});

/** The focused element's outline: its style, width, and contrast against what is behind it. */
async function focusRing(page: Page) {
  return page.evaluate(() => {
    // A canvas paints any CSS colour (color-mix, oklch, alpha…) into plain pixels, composited as the page would be.
    const context = document.createElement("canvas").getContext("2d", { willReadFrequently: true })!;
    const paint = (...colors: string[]) => {
      context.clearRect(0, 0, 1, 1);
      for (const color of colors) {
        context.fillStyle = color;
        context.fillRect(0, 0, 1, 1);
      }
      return context.getImageData(0, 0, 1, 1).data;
    };
    // Defined in here: only this function's own source is sent to the page.
    // oxlint-disable-next-line unicorn/consistent-function-scoping
    const luminance = ([r, g, b]: Uint8ClampedArray) =>
      [r!, g!, b!]
        .map((value) => value / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i]!, 0);
    const element = document.activeElement as HTMLElement;
    const style = getComputedStyle(element);
    // The outline sits outside the element (outline-offset), over the nearest painted background around it.
    let behind = "#fff";
    for (let node = element.parentElement; node; node = node.parentElement) {
      const background = getComputedStyle(node).backgroundColor;
      if (paint(background)[3]! > 0) {
        behind = background;
        break;
      }
    }
    const [light, dark] = [luminance(paint(behind, style.outlineColor)), luminance(paint(behind))].toSorted((x, y) => y - x);
    return {
      element: `${element.tagName.toLowerCase()} "${(element.textContent ?? "").trim().slice(0, 30)}"`,
      style: style.outlineStyle,
      width: parseFloat(style.outlineWidth),
      contrast: Math.round(((light! + 0.05) / (dark! + 0.05)) * 100) / 100,
    };
  });
}

test("keyboard focus shows a ring of at least 3:1 contrast on every stop of the login and account pages", async ({ page }) => {
  for (const path of ["/login", "/account"]) {
    if (path === "/account") await signInThroughForm(page, "pastdue@demo.test");
    await page.goto(path);
    for (let stop = 0; stop < 8; stop++) {
      await page.keyboard.press("Tab");
      const ring = await focusRing(page);
      if (ring.element.startsWith("body")) break;
      expect(ring.style, ring.element).not.toBe("none");
      expect(ring.width, ring.element).toBeGreaterThanOrEqual(2);
      expect(ring.contrast, ring.element).toBeGreaterThanOrEqual(3);
    }
  }
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(`after a failed attempt, with JavaScript ${javaScriptEnabled ? "on" : "off"}, focus moves to the message`, () => {
    test.use({ javaScriptEnabled });

    test("a wrong password", async ({ page }) => {
      await page.goto("/login");
      await page.getByLabel("Email").fill("stripe@demo.test");
      await page.getByLabel("Password").fill("not-the-password");
      await page.getByRole("button", { name: "Log in" }).click();
      await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
      await expect(page.getByRole("alert")).toBeFocused();
    });

    test("a sign-up with an email that already has an account", async ({ page }) => {
      await page.goto("/signup");
      await page.getByLabel("Email").fill("polar@demo.test");
      await page.getByLabel("Password").fill(`${DEMO_PASSWORD}-but-longer`);
      await page.getByRole("button", { name: "Create account" }).click();
      // The field in error, whose description is the message.
      const email = page.getByLabel("Email");
      await expect(email).toHaveAccessibleDescription("An account with this email already exists.");
      await expect(email).toBeFocused();
    });

    test("a billing portal that fails, on the account page", async ({ page, signIn, emulator }) => {
      await signIn("pastdue@demo.test");
      // Stripe's SDK retries a 5xx once: fail both attempts.
      await emulator.failNext({ status: 500, times: 2 });
      await page.getByRole("button", { name: "Manage billing" }).click();
      await expect(page.getByRole("alert").filter({ hasText: "Our payment provider is not answering" })).toBeFocused();
    });

    test("a checkout that fails, on the pricing page", async ({ page, signIn, emulator }) => {
      await signIn("nobody@demo.test");
      await page.goto("/pricing");
      await emulator.failNext({ status: 500, times: 2 });
      await page.getByRole("button", { name: "Choose Pro" }).click();
      await expect(page).toHaveURL(/\/pricing$/);
      await expect(page.getByRole("alert")).toContainText("Our payment provider is not answering");
      await expect(page.getByRole("alert")).toBeFocused();
    });
  });
}
