import { requestInfoContext } from "~/http/request-info.ts";
import { logger } from "~/observability/log.server.ts";
import { services } from "~/services.server.ts";

let draining = false;

/** True once the server entry has begun shutting down: /readyz answers 503 so load balancers move on. */
export function isDraining(): boolean {
  return draining;
}

/**
 * What the server entry (server/main.ts) takes from the app's build, through
 * entry.server.tsx: the build has its own copies of these modules, so the
 * server must use the build's context key, logger and services, not import
 * them a second time.
 */
export const serverRuntime = {
  config: services.config,
  requestInfoContext,
  logger,
  startDraining() {
    draining = true;
  },
  stopServices: () => services.stop(),
};

export type ServerRuntime = typeof serverRuntime;
