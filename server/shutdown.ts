import type { Server } from "node:http";
import { Server as NetServer } from "node:net";

type Log = { info(fields: object): void; warn(fields: object): void };

/**
 * SPEC "Server, proxies and operations": on SIGTERM stop accepting
 * connections, let requests in flight finish (up to the grace period),
 * then close the services, with no request reset. Node's `server.close()`
 * would also close every idle keep-alive connection at once, racing with a
 * request a client's pool is sending on it (ECONNRESET): only the listener
 * is closed here; answers given while draining carry `Connection: close`,
 * and a connection is closed by the server only once it has been quiet
 * long enough that no request can be racing onto it (app-server.ts).
 */
export function createShutdown(options: {
  server: Server;
  graceMs: number;
  startDraining: () => void;
  /** Closes the connections that have been quiet since `since`; returns how many are still open. */
  closeQuietConnections: (since: number) => number;
  stopServices: () => Promise<void>;
  log: () => Log;
}): (signal: string) => Promise<void> {
  let shutdown: Promise<void> | undefined;
  return (signal) => {
    shutdown ??= (async () => {
      const { server, graceMs } = options;
      options.log().info({ event: "server.draining", signal, graceMs });
      const since = performance.now();
      options.startDraining();
      // net.Server's close: stop listening, call back once the last connection has closed.
      const closed = new Promise<void>((resolve) => netClose.call(server, () => resolve()));
      const sweep = setInterval(() => options.closeQuietConnections(since), SWEEP_MS);
      const grace = setTimeout(() => {
        options.log().warn({ event: "server.grace_expired", graceMs });
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(grace);
      await options.stopServices();
      options.log().info({ event: "server.stopped" });
    })();
    return shutdown;
  };
}

const netClose = NetServer.prototype.close as (this: Server, callback: () => void) => void;
/** How often a drain looks for connections it may close. */
const SWEEP_MS = 100;
