import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "react-router";
import type { ServerRuntime } from "../app/http/server-runtime.server.ts";

/**
 * `npm run serve` / `npm start`: serves a production build
 * (`node server/main.ts [build/server/index.js]`). Node 24 runs this
 * TypeScript as is (type stripping), so no compile step and no tsx at run time.
 */

// The embedded database (no DATABASE_URL) gets settings for a small footprint (ADR 019): WebAssembly on the
// baseline compiler only (optimising PGlite's largest functions made a start-up peak of about 800 MiB for no
// measurable speed), a 2 MB young generation (4 MB saved about 40 MiB for some 10% of throughput, 2 MB a few MiB
// more at no measured cost), and at most two malloc arenas (glibc gives each thread its own, and PGlite's thread is
// one more; ADR 015). V8 and glibc take these only at start, so the process replaces itself once with them (same
// pid: signals and process managers see no difference). A liftoff flag already given means the choice was made: nothing is added; so does
// EMBEDDED_V8_FLAGS=0 (a build that opens no database, like the benchmark's framework floor and peer).
const EMBEDDED_V8_FLAGS = ["--liftoff-only", "--max-semi-space-size=2"];
const embedded = !process.env.DATABASE_URL?.trim() && process.env.EMBEDDED_V8_FLAGS !== "0";
if (embedded && !process.execArgv.some((arg) => arg.includes("liftoff"))) {
  try {
    const env = { MALLOC_ARENA_MAX: "2", ...process.env };
    process.execve?.(process.execPath, [process.execPath, ...EMBEDDED_V8_FLAGS, ...process.execArgv, ...process.argv.slice(1)], env);
  } catch {
    // No execve on this platform (Windows): run as started.
  }
}

// React and React Router pick their production code from NODE_ENV when first loaded, so it is set before
// anything imports them (hence the dynamic imports below); APP_ENV says whether this is a deployment.
process.env.NODE_ENV ??= "production";
const { createAppServer } = await import("./app-server.ts");
const { createShutdown } = await import("./shutdown.ts");
// Tells app/services.server.ts that this entry drains requests before stopping the services on a signal.
(globalThis as { portalStackServerEntry?: boolean }).portalStackServerEntry = true;

const buildPath = path.resolve(process.argv[2] ?? "build/server/index.js");
// Importing the build starts the app's services (database, migrations, emulator), or exits with one line.
const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;
const runtime = (build.entry.module as { serverRuntime?: ServerRuntime }).serverRuntime;
if (!runtime) {
  console.error(`Cannot start: ${buildPath} does not export serverRuntime from its entry.server: rebuild with \`npm run build\`.`);
  process.exit(1);
}
const { config } = runtime;
const log = runtime.logger;

const { server, startDraining, closeQuietConnections } = createAppServer({
  build,
  runtime,
  clientDir: path.resolve(path.dirname(buildPath), "../client"),
});

const shutdown = createShutdown({
  server,
  graceMs: config.server.shutdownGraceMs,
  startDraining,
  closeQuietConnections,
  stopServices: runtime.stopServices,
  log,
});
let signals = 0;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    // A second Ctrl-C means now.
    if (++signals > 1) process.exit(1);
    void shutdown(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

server.once("error", (error: NodeJS.ErrnoException) => {
  const reason = error.code === "EADDRINUSE" ? `port ${config.port} is already in use (set PORT)` : (error.code ?? error.name);
  console.error(`Cannot start: ${reason}.`);
  void runtime.stopServices().finally(() => process.exit(1));
});

server.listen(config.port, () => {
  log().info({ event: "server.listening", url: config.appOrigin, port: config.port });
  if (config.appOrigin.startsWith("https:") && config.server.trustProxy === 0) {
    // Forms would be refused: the requests arrive over http and nothing says the proxy's https may be trusted.
    log().warn({ event: "server.https_app_url_without_trust_proxy", hint: "set TRUST_PROXY to the number of proxies in front of the app" });
  }
});
