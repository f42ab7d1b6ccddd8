import { existsSync } from "node:fs";
import { defineConfig, devices } from "@playwright/test";
import type { ProviderId } from "./app/billing/providers/provider.ts";
import { E2E_LANES, laneApps, proxiedApp } from "./e2e/apps.ts";

// Debian's Chromium where it is installed (this project's machines have no access to Playwright's browser
// downloads); Playwright's own browser elsewhere. Its headless shell first: the same Blink without the full
// browser (what Playwright itself runs headless), about a third less CPU for the suite than `chromium --headless`.
const systemChromium = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].find((path) => existsSync(path));
const launchOptions = systemChromium
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

const lanes = Array.from({ length: E2E_LANES }, (_, lane) => lane);

export default defineConfig<{ provider: ProviderId; behindProxy: boolean }>({
  testDir: "e2e",
  fullyParallel: false,
  // One worker per lane (e2e/apps.ts): each has its own apps, so no two tests share an emulator at once.
  workers: E2E_LANES,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  timeout: 30_000,
  // A failed test keeps its trace (actions, DOM snapshots, network, console) without the screencast: recording
  // frames for every test made Chromium the largest CPU cost of the suite (on a subset, 31 of 74 CPU-seconds with it
  // against 16 of 54 without; the whole suite 273 s to 237 s alone). `--trace=on` brings them back when needed.
  use: { trace: { mode: "retain-on-failure", screenshots: false }, launchOptions },
  webServer: lanes.flatMap((lane) => {
    const proxied = proxiedApp(lane);
    return [
      // One production build, one server per provider: PAYMENT_PROVIDER is chosen at start.
      ...laneApps(lane).map((app) => ({
        command: `tsx e2e/prepare-app-data.ts && node server/main.ts`,
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
        command: `tsx e2e/prepare-app-data.ts && node server/main.ts`,
        url: `http://localhost:${proxied.port}/healthz`,
        env: {
          APP_ENV: "production",
          PORT: String(proxied.port),
          APP_URL: proxied.baseURL,
          TRUST_PROXY: "1",
          SESSION_SECRET: "e2e-behind-proxy-session-secret-0123456789",
          DATA_DIR: proxied.dataDir,
          PAYMENT_PROVIDER: "stripe",
          PAYMENT_EMULATOR: "1",
          PAYMENT_EMULATOR_PORT: String(proxied.emulatorPort),
        },
        reuseExistingServer: false,
        timeout: 120_000,
        stdout: "ignore" as const,
      },
      {
        command: `tsx e2e/tls-proxy.ts ${proxied.proxyPort} ${proxied.port}`,
        url: `${proxied.baseURL}/healthz`,
        ignoreHTTPSErrors: true,
        reuseExistingServer: false,
        timeout: 30_000,
        stdout: "ignore" as const,
      },
    ];
  }),
  projects: [
    ...laneApps(0).map((app) => ({
      name: app.provider,
      // Pages and sign-in are the same whichever provider is active: those specs run against the Stripe app only.
      testMatch: app.provider === "stripe" ? /.*\.spec\.ts/ : /(billing-portal|billing-truth|lifecycle|beyond)\.spec\.ts/,
      testIgnore: /tls-proxy\.spec\.ts/,
      // baseURL: the lane's app for this provider (e2e/fixtures.ts).
      use: { ...devices["Desktop Chrome"], provider: app.provider },
    })),
    {
      name: "behind-tls-proxy",
      testMatch: /tls-proxy\.spec\.ts/,
      // baseURL: the lane's proxy (e2e/fixtures.ts).
      use: { ...devices["Desktop Chrome"], ignoreHTTPSErrors: true, behindProxy: true },
    },
  ],
});
