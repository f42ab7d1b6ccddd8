import { createAuth } from "~/auth/auth.server.ts";
import { createPortalEndpoint } from "~/billing/portal-endpoint.server.ts";
import { createPortalFlash } from "~/billing/portal-flash.server.ts";
import { createBillingPortal } from "~/billing/portal.server.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import type { Config } from "~/config/env.server.ts";
import { type Database, openDatabase } from "~/db/database.server.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { createRateLimits } from "~/rate-limits/rate-limits.server.ts";
import type { ProviderEmulator } from "../emulator/provider-emulator.ts";

/**
 * Builds the app's long-lived parts from a parsed configuration: database
 * (migrated), demo data, emulator, provider adapter, auth, billing portal.
 * The server does this once per process (services.server.ts); integration
 * tests do it with their own configuration and a throwaway database.
 */
export async function startServices(config: Config, options: { database?: Database } = {}) {
  const database = options.database ?? (await openDatabase(config.database));
  if (config.seedDemoData) {
    const { created } = await seedDemoAccounts(database.prisma);
    if (created > 0) logEvent("info", "demo.seeded", { users: created });
  }

  // The emulator is dev/demo tooling; in production it starts only with PAYMENT_EMULATOR=1.
  let emulator: ProviderEmulator | null = null;
  let emulatorOrigin: string | undefined;
  if (config.billing.emulated && config.billing.emulatorUrl) {
    // A shared emulator (`npm run emulator`): this instance only points the SDKs at it.
    emulatorOrigin = new URL(config.billing.emulatorUrl).origin;
    logEvent("info", "billing.emulator.shared", { origin: emulatorOrigin, provider: config.billing.provider });
  } else if (config.billing.emulated) {
    // Loaded only when asked for, so a deployment never even loads the emulator's code.
    const { startProviderEmulator } = await import("../emulator/provider-emulator.ts");
    emulator = await startProviderEmulator({
      port: config.billing.emulatorPort,
      appReturnUrl: new URL("/account", config.appOrigin).href,
    });
    emulatorOrigin = emulator.origin;
    logEvent("info", "billing.emulator.started", { origin: emulator.origin, provider: config.billing.provider });
  }

  const provider = createBillingProvider({ ...config.billing, emulatorOrigin });
  const secure = config.appOrigin.startsWith("https:");
  // Counted in the database, so every instance on it shares the limits (SPEC "Rate limits").
  const rateLimits = createRateLimits({ prisma: database.prisma, limits: config.rateLimits });
  const auth = createAuth({
    prisma: database.prisma,
    sessionSecrets: config.sessionSecrets,
    secureCookie: secure,
    rateLimits,
  });
  const portal = createBillingPortal({
    prisma: database.prisma,
    provider,
    providerCalls: rateLimits.providerCalls,
    returnUrlPolicy: { appOrigin: config.appOrigin, allowedOrigins: config.billing.returnOrigins },
  });
  const flash = createPortalFlash({ secrets: config.sessionSecrets, secure });
  const handlePortalRequest = createPortalEndpoint({
    portal,
    flash,
    appOrigin: config.appOrigin,
    identify: async (request) => (await auth.getUser(request))?.id ?? null,
  });

  async function stop() {
    rateLimits.stop();
    await emulator?.close();
    await database.close();
  }

  return { config, database, emulator, auth, portal, flash, handlePortalRequest, stop };
}

export type Services = Awaited<ReturnType<typeof startServices>>;
