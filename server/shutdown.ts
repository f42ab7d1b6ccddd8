import type { Server } from "node:http";

type Log = { info(fields: object): void; warn(fields: object): void };

/**
 * SPEC "Server, proxies and operations": on SIGTERM stop accepting
 * connections, let requests in flight finish (up to the grace period),
 * then close the services. Node's own `server.close()` does the connection
 * work (it closes idle keep-alive sockets at once, and answers in flight
 * carry `Connection: close` once draining starts); no library is needed
 * for these few lines.
 */
export function createShutdown(options: {
  server: Server;
  graceMs: number;
  startDraining: () => void;
  stopServices: () => Promise<void>;
  log: () => Log;
}): (signal: string) => Promise<void> {
  let shutdown: Promise<void> | undefined;
  return (signal) => {
    shutdown ??= (async () => {
      const { server, graceMs } = options;
      options.log().info({ event: "server.draining", signal, graceMs });
      options.startDraining();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => {
        options.log().warn({ event: "server.grace_expired", graceMs });
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(grace);
      await options.stopServices();
      options.log().info({ event: "server.stopped" });
    })();
    return shutdown;
  };
}
