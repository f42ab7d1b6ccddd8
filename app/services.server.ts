import { createAuth } from "~/auth/auth.server.ts";
import { createPortalEndpoint } from "~/billing/portal-endpoint.server.ts";
import { createPortalFlash } from "~/billing/portal-flash.server.ts";
import { createBillingPortal } from "~/billing/portal.server.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { type Config, parseConfig } from "~/config/env.server.ts";
import { openDatabase } from "~/db/database.server.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { type ProviderEmulator, startProviderEmulator } from "../emulator/provider-emulator.ts";

/**
 * The composition root: the one place that reads the environment and builds
 * the app's long-lived parts, once per process, before the first request.
 * Routes import what they need from here; everything else receives its
 * dependencies as arguments, so tests can build their own.
 */
async function startServices(config: Config) {
  const database = await openDatabase(config.database);
  if (config.seedDemoData) {
    const { created } = await seedDemoAccounts(database.prisma);
    if (created > 0) logEvent("info", "demo.seeded", { users: created });
  }

  // The emulator is dev/demo tooling; in production it starts only with PAYMENT_EMULATOR=1.
  let emulator: ProviderEmulator | null = null;
  if (config.billing.emulated) {
    emulator = await startProviderEmulator({
      port: config.billing.emulatorPort,
      appReturnUrl: new URL("/account", config.appOrigin).href,
    });
    if (config.billing.provider === "lemonsqueezy") routeLemonSqueezyApiTo(emulator.origin);
    logEvent("info", "billing.emulator.started", { origin: emulator.origin, provider: config.billing.provider });
  }

  const provider = createBillingProvider({ ...config.billing, emulatorOrigin: emulator?.origin });
  const secure = config.appOrigin.startsWith("https:");
  const auth = createAuth({ prisma: database.prisma, sessionSecrets: config.sessionSecrets, secureCookie: secure });
  const portal = createBillingPortal({
    prisma: database.prisma,
    provider,
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
    await emulator?.close();
    await database.close();
  }

  return { config, database, emulator, auth, portal, flash, handlePortalRequest, stop };
}

export type Services = Awaited<ReturnType<typeof startServices>>;

/** Start-up failures are the operator's to fix: one clear line, no stack, then exit. */
function exitWithReason(error: unknown): never {
  const reason = error instanceof Error ? error.message : String(error);
  console.error(`Cannot start: ${reason}`);
  process.exit(1);
}

async function boot(): Promise<Services> {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    exitWithReason(error);
  }
  const services = await startServices(config).catch(exitWithReason);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void services.stop().finally(() => process.exit(0));
    });
  }
  return services;
}

// One instance per process, kept across dev-server module reloads.
const globalForServices = globalThis as typeof globalThis & { portalStackServices?: Promise<Services> };
export const services = await (globalForServices.portalStackServices ??= boot());
export const { auth, portal, flash, handlePortalRequest } = services;
