import type { ProviderId } from "../app/billing/providers/provider.ts";

// Shifts every port, so that two checkouts can run their browser tests at once on one machine.
const portOffset = Number(process.env.E2E_PORT_OFFSET ?? 0);
if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 60_000) {
  throw new Error("E2E_PORT_OFFSET must be a whole number between 0 and 60000.");
}

/** The apps the browser tests run against: the same build, one per active provider. */
export const E2E_APPS = (
  [
    ["stripe", 4101],
    ["polar", 4102],
    ["lemonsqueezy", 4103],
  ] as const
).map(([provider, defaultPort]) => {
  const port = defaultPort + portOffset;
  return {
    provider: provider satisfies ProviderId,
    port,
    baseURL: `http://localhost:${port}`,
    emulatorPort: port + 100,
    emulatorOrigin: `http://127.0.0.1:${port + 100}`,
    dataDir: `e2e/.data/${provider}`,
  };
});

export type E2EApp = (typeof E2E_APPS)[number];

/**
 * The app as a deployment runs it behind a TLS-terminating proxy (e2e/tls-proxy.ts):
 * APP_ENV=production, APP_URL=https://…, TRUST_PROXY=1, reached only through the proxy.
 */
export const PROXIED_APP = {
  port: 4104 + portOffset,
  proxyPort: 4443 + portOffset,
  baseURL: `https://localhost:${4443 + portOffset}`,
  emulatorPort: 4204 + portOffset,
  emulatorOrigin: `http://127.0.0.1:${4204 + portOffset}`,
  dataDir: "e2e/.data/proxied",
};
