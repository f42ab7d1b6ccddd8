import { existsSync } from "node:fs";
import { defineConfig, devices } from "@playwright/test";
import { E2E_APPS } from "./e2e/apps.ts";

// Debian's Chromium where it is installed (this project's machines have no
// access to Playwright's browser downloads); Playwright's own browser elsewhere.
const systemChromium = "/usr/bin/chromium";
const launchOptions = existsSync(systemChromium)
  ? {
      executablePath: systemChromium,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    }
  : {};

export default defineConfig({
  testDir: "e2e",
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  timeout: 30_000,
  use: { trace: "retain-on-failure", launchOptions },
  // One production build, one server per provider: PAYMENT_PROVIDER is chosen at start.
  webServer: E2E_APPS.map((app) => ({
    command: `rm -rf ${app.dataDir} && tsx e2e/seed-failure-customer.ts && node server/main.ts`,
    url: `${app.baseURL}/login`,
    env: {
      PORT: String(app.port),
      APP_URL: app.baseURL,
      DATA_DIR: app.dataDir,
      PAYMENT_PROVIDER: app.provider,
      PAYMENT_EMULATOR: "1",
      PAYMENT_EMULATOR_PORT: String(app.emulatorPort),
    },
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore" as const,
  })),
  projects: E2E_APPS.map((app) => ({
    name: app.provider,
    // Pages and sign-in are the same whichever provider is active: those specs run against the Stripe app only.
    testMatch: app.provider === "stripe" ? /.*\.spec\.ts/ : /(billing-portal|lifecycle)\.spec\.ts/,
    use: { ...devices["Desktop Chrome"], baseURL: app.baseURL, provider: app.provider },
  })),
});
