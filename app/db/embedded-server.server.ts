import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { ClientConfig } from "pg";
import type { EmbeddedWorkerData, EmbeddedWorkerMessage } from "~/db/embedded-worker.ts";
import { logEvent } from "~/observability/log.server.ts";

/** The number in the socket's name (`.s.PGSQL.<port>`), as node-postgres looks for it: no TCP port is opened. */
const SOCKET_PORT = 5432;

/**
 * Found through the package's own exports (package.json), so the path holds from the source and
 * from the server build alike, wherever the project folder is; Node looks a package's own name up
 * from its files, so the build must be inside the project folder, as `npm run build` makes it.
 */
const workerFile = () => createRequire(import.meta.url).resolve("billing-portal-stack/embedded-database-worker");

/** How long a stop waits for PGlite to close before the thread is ended anyway. */
const STOP_TIMEOUT_MS = 10_000;

export interface EmbeddedServer {
  /** How node-postgres reaches it. */
  connection: ClientConfig;
  /** Closes PGlite (its last writes reach the folder), ends the thread and removes the socket's folder. */
  stop(): Promise<void>;
}

/**
 * Starts PGlite in a worker thread of its own (ADR 015), serving the PostgreSQL wire protocol on a
 * Unix socket inside a new folder that only this user may enter (mkdtemp makes it 0700): no port
 * is opened, and no other user of the machine can reach the database. The caller holds the data
 * folder's lock; the thread only opens what it is given.
 */
export async function startEmbeddedServer(options: Omit<EmbeddedWorkerData, "socketPath">): Promise<EmbeddedServer> {
  const socketDir = await mkdtemp(path.join(tmpdir(), "billing-db-"));
  // A process that ends without stop() (a script, a test run) takes the folder along, as it does the data folder's lock.
  const removeOnExit = () => rmSync(socketDir, { recursive: true, force: true });
  process.once("exit", removeOnExit);
  const workerData: EmbeddedWorkerData = { ...options, socketPath: path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`) };
  // execArgv: [] because the file runs as Node loads it (types stripped), without the loaders of a tsx or Vitest parent.
  const worker = new Worker(workerFile(), { workerData, execArgv: [] });
  // Like PGlite in the main thread before it, the database does not keep the process alive: a
  // statement is on disk when it is answered, and close() is what a graceful stop calls.
  worker.unref();
  let stopping = false;
  const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once("message", (message: EmbeddedWorkerMessage) =>
        message.type === "ready"
          ? resolve()
          : reject(new Error(`Cannot start the embedded database: ${message.type === "failed" ? message.message : message.type}`)),
      );
      worker.once("error", reject);
      void exited.then((code) => reject(new Error(`The embedded database stopped as it started (exit code ${code}).`)));
    });
  } catch (error) {
    await worker.terminate();
    process.off("exit", removeOnExit);
    await rm(socketDir, { recursive: true, force: true });
    throw error;
  }
  // After the start, a failure is the thread's end: logged by name and code, and every query fails from then on
  // (so /readyz answers 503), as when a PostgreSQL server goes away.
  worker.on("error", (error) => logEvent("error", "database.embedded_failed", { error: error.name }));
  void exited.then((code) => {
    if (!stopping) logEvent("error", "database.embedded_stopped", { code });
  });
  return {
    connection: { host: socketDir, port: SOCKET_PORT, user: "postgres", database: "postgres" },
    async stop() {
      if (stopping) return;
      stopping = true;
      // Held again while it closes, or a process with nothing else left would end before PGlite has.
      worker.ref();
      // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker thread, not a window
      worker.postMessage({ type: "close" });
      const timeout = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS).unref();
      await exited;
      clearTimeout(timeout);
      process.off("exit", removeOnExit);
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
