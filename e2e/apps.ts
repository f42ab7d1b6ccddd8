import type { ProviderId } from "../app/billing/providers/provider.ts";

// Shifts every port, so that two checkouts can run their browser tests at once on one machine.
const portOffset = Number(process.env.E2E_PORT_OFFSET ?? 0);
if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 60_000) {
  throw new Error("E2E_PORT_OFFSET must be a whole number between 0 and 60000.");
}

/**
 * Playwright's workers, one per lane: each lane has its own apps (and emulators), shared by the tests that
 * worker runs one after another, so that a test's emulator controls (failures, held webhooks, resets) never
 * reach a test running at the same moment in another worker. One by default: on our two-core machines a
 * second lane (a second browser and five more servers) made the suite slower, not faster (ADR 026);
 * E2E_WORKERS=2 or more where there are cores to spare.
 */
export const E2E_LANES = Number(process.env.E2E_WORKERS ?? 1);
if (!Number.isInteger(E2E_LANES) || E2E_LANES < 1 || E2E_LANES > 8) throw new Error("E2E_WORKERS must be a whole number from 1 to 8.");

/** Ports of one lane are its predecessor's plus this. */
const LANE_PORT_STEP = 10;

/** The apps one lane's tests run against: the same build, one per active provider. */
export function laneApps(lane: number) {
  return (
    [
      ["stripe", 4101],
      ["polar", 4102],
      ["lemonsqueezy", 4103],
    ] as const
  ).map(([provider, defaultPort]) => {
    const port = defaultPort + portOffset + lane * LANE_PORT_STEP;
    return {
      provider: provider satisfies ProviderId,
      port,
      baseURL: `http://localhost:${port}`,
      emulatorPort: port + 100,
      emulatorOrigin: `http://127.0.0.1:${port + 100}`,
      dataDir: `e2e/.data/lane-${lane}/${provider}`,
    };
  });
}

export type E2EApp = ReturnType<typeof laneApps>[number];

/**
 * The app as a deployment runs it behind a TLS-terminating proxy (e2e/tls-proxy.ts):
 * APP_ENV=production, APP_URL=https://…, TRUST_PROXY=1, reached only through the proxy.
 */
export function proxiedApp(lane: number) {
  const shift = portOffset + lane * LANE_PORT_STEP;
  return {
    port: 4104 + shift,
    proxyPort: 4443 + shift,
    baseURL: `https://localhost:${4443 + shift}`,
    emulatorPort: 4204 + shift,
    emulatorOrigin: `http://127.0.0.1:${4204 + shift}`,
    dataDir: `e2e/.data/lane-${lane}/proxied`,
  };
}

export type ProxiedApp = ReturnType<typeof proxiedApp>;

/** Which lane a test runs in: its worker's place (0 … workers-1), kept by a worker that replaces a failed one. */
export function laneOf(parallelIndex: number): number {
  return parallelIndex % E2E_LANES;
}
