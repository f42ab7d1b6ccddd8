import { existsSync } from "node:fs";
import { defineConfig, devices } from "@playwright/test";
import { E2E_APPS, PROXIED_APP } from "./e2e/apps.ts";

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
  webServer: [
    // One production build, one server per provider: PAYMENT_PROVIDER is chosen at start.
    ...E2E_APPS.map((app) => ({
      command: `rm -rf ${app.dataDir} && tsx e2e/seed-failure-customer.ts && node server/main.ts`,
      url: `${app.baseURL}/login`,
      env: {
        PORT: String(app.port),
        APP_URL: app.baseURL,
        DATA_DIR: app.dataDir,
        PAYMENT_PROVIDER: app.provider,
        PAYMENT_EMULATOR: "1",
        PAYMENT_EMULATOR_PORT: String(app.emulatorPort),
        // The suite opens one demo user's portal many times a minute; the limit itself is tested in
        // tests/rate-limits.test.ts and the multi-instance suite.
        RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0",
        // The browser flows are not about hashing: sign-ins and the demo seed at a millisecond each.
        PASSWORD_HASH_COST: "low",
      },
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "ignore" as const,
    })),
    {
      // A deployment behind a TLS-terminating proxy: production settings, https APP_URL, one trusted hop.
      command: `rm -rf ${PROXIED_APP.dataDir} && node server/main.ts`,
      url: `http://localhost:${PROXIED_APP.port}/healthz`,
      env: {
        APP_ENV: "production",
        PORT: String(PROXIED_APP.port),
        APP_URL: PROXIED_APP.baseURL,
        TRUST_PROXY: "1",
        SESSION_SECRET: "e2e-behind-proxy-session-secret-0123456789",
        DATA_DIR: PROXIED_APP.dataDir,
        PAYMENT_PROVIDER: "stripe",
        PAYMENT_EMULATOR: "1",
        PAYMENT_EMULATOR_PORT: String(PROXIED_APP.emulatorPort),
      },
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "ignore" as const,
    },
    {
      command: `tsx e2e/tls-proxy.ts ${PROXIED_APP.proxyPort} ${PROXIED_APP.port}`,
      url: `${PROXIED_APP.baseURL}/healthz`,
      ignoreHTTPSErrors: true,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore" as const,
    },
  ],
  projects: [
    ...E2E_APPS.map((app) => ({
      name: app.provider,
      // Pages and sign-in are the same whichever provider is active: those specs run against the Stripe app only.
      testMatch: app.provider === "stripe" ? /.*\.spec\.ts/ : /(billing-portal|lifecycle|beyond)\.spec\.ts/,
      testIgnore: /tls-proxy\.spec\.ts/,
      use: { ...devices["Desktop Chrome"], baseURL: app.baseURL, provider: app.provider },
    })),
    {
      name: "behind-tls-proxy",
      testMatch: /tls-proxy\.spec\.ts/,
      use: { ...devices["Desktop Chrome"], baseURL: PROXIED_APP.baseURL, ignoreHTTPSErrors: true },
    },
  ],
});
