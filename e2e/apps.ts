import type { ProviderId } from "../app/billing/providers/provider.ts";

/** The apps the browser tests run against: the same build, one per active provider. */
export const E2E_APPS = (
  [
    ["stripe", 4101],
    ["polar", 4102],
    ["lemonsqueezy", 4103],
  ] as const
).map(([provider, port]) => ({
  provider: provider satisfies ProviderId,
  port,
  baseURL: `http://localhost:${port}`,
  emulatorPort: port + 100,
  emulatorOrigin: `http://127.0.0.1:${port + 100}`,
  dataDir: `e2e/.data/${provider}`,
}));

export type E2EApp = (typeof E2E_APPS)[number];
