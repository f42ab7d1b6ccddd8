import { parseConfig, type Config } from "~/config/env.server.ts";
import { setLogLevel } from "~/observability/log.server.ts";
import { type BillingOwner, billingOwnerOf } from "~/orgs/billing-owner.ts";
import { type Services, startServices } from "~/start-services.server.ts";

/**
 * The composition root: the one place that reads the environment. It builds
 * the app's long-lived parts once per process, before the first request;
 * routes import what they need from here.
 */

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
  setLogLevel(config.server.logLevel);
  const services = await startServices(config).catch(exitWithReason);
  // The server entry (server/main.ts) drains requests in flight before it stops the services;
  // elsewhere (the Vite dev server) a signal stops them at once.
  if (!globalForServices.portalStackServerEntry) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        void services.stop().finally(() => process.exit(0));
      });
    }
  }
  return services;
}

// One instance per process, kept across dev-server module reloads.
const globalForServices = globalThis as typeof globalThis & {
  portalStackServices?: Promise<Services>;
  portalStackServerEntry?: boolean;
};
export const services = await (globalForServices.portalStackServices ??= boot());
export const { auth, passwordReset, accountSettings, portal, flash, organizations, orgFlash, invitationLinkFlash, handlePortalRequest, handleCheckoutRequest, handleWebhook } = services;

/** The current billing owner of the request's session (the organisation it acts for, and the user's role), or null. */
export async function currentBillingOwner(request: Request): Promise<BillingOwner | null> {
  return billingOwnerOf(await auth.getUser(request));
}
