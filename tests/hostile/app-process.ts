import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { prepareEmbeddedDataDir } from "../support/embedded-template.ts";

export const PROJECT_ROOT = resolve(import.meta.dirname, "../..");

/** Known to the suite so the log check can look for it; long enough for APP_ENV=production rules. */
export const SUITE_SESSION_SECRET = "hostile-suite-session-secret-7f3a9c2e5b8d1046";

export type RunningApp = {
  origin: string;
  port: number;
  /** Where the emulated provider's portal and checkout pages live: the only other origin a redirect may lead to. */
  portalOrigins: string[];
  /** Everything the process wrote to stdout and stderr so far. */
  log(): string;
  stop(): Promise<void>;
  /** Stops the app, hands its embedded database's folder to `read` (nothing else has it open then), then removes it. */
  stopAndRead<T>(read: (dataDir: string) => Promise<T>): Promise<T>;
};

/**
 * Starts the built app as an operator does (`npm run serve`), on a throwaway
 * embedded database with the payment providers emulated, and waits until it
 * answers. Only the variables below reach it: no NODE_ENV=test, no
 * DATABASE_URL from the developer's shell.
 */
export async function startApp(options: { port: number; env?: Record<string, string> }): Promise<RunningApp> {
  const { port } = options;
  const origin = `http://localhost:${port}`;
  const emulatorPort = port + 1;
  const dataDir = mkdtempSync(join(tmpdir(), "portalstack-hostile-"));
  // A copy of the migrated template instead of a new cluster (tests/support/embedded-template.ts).
  await prepareEmbeddedDataDir(join(dataDir, "db"));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? tmpdir(),
    PORT: String(port),
    APP_URL: origin,
    DATA_DIR: join(dataDir, "db"),
    PAYMENT_EMULATOR: "1",
    PAYMENT_EMULATOR_PORT: String(emulatorPort),
    SESSION_SECRET: SUITE_SESSION_SECRET,
    // Not a test of hashing: logins and demo seeds at a millisecond each (a deployment refuses this).
    ...(options.env?.APP_ENV === "production" ? {} : { PASSWORD_HASH_COST: "low" }),
    ...options.env,
  };

  const chunks: string[] = [];
  // Its own process group, so stopping it also stops the node process npm started.
  const child = spawn("npm", ["run", "--silent", "serve"], {
    cwd: PROJECT_ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => chunks.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => chunks.push(chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));

  const stop = async () => {
    await stopGroup(child, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const stopAndRead = async <T>(read: (databaseDir: string) => Promise<T>) => {
    await stopGroup(child, exited);
    try {
      return await read(env.DATA_DIR!);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  try {
    await waitUntilAnswering(origin, exited, () => chunks.join(""));
  } catch (error) {
    await stop();
    throw error;
  }

  const started = /"event":"billing\.emulator\.started"[^\n]*"origin":"([^"]+)"/.exec(chunks.join(""));
  const portalOrigins = [
    ...new Set([...(started?.[1] ? [started[1]] : []), `http://127.0.0.1:${emulatorPort}`, `http://localhost:${emulatorPort}`]),
  ];
  return { origin, port, portalOrigins, log: () => chunks.join(""), stop, stopAndRead };
}

async function waitUntilAnswering(origin: string, exited: Promise<number | null>, log: () => string) {
  const deadline = Date.now() + 60_000;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`The app exited before answering. Its log:\n${log()}`);
    try {
      const response = await fetch(`${origin}/login`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`The app did not answer within 60 s. Its log:\n${log()}`);
}

/** Stops the whole process group (npm, and the server it started), and waits until every one of them is gone. */
async function stopGroup(child: ChildProcess, exited: Promise<number | null>) {
  if (child.pid === undefined) return;
  const group = -child.pid;
  const signalGroup = (signal: NodeJS.Signals | 0) => {
    try {
      process.kill(group, signal);
      return true;
    } catch {
      return false; // No process left in the group.
    }
  };
  signalGroup("SIGTERM");
  await exited;
  // npm exits first; the server may still be closing its database: wait for it, then insist.
  const deadline = Date.now() + 15_000;
  while (signalGroup(0) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
  // A container without an init that reaps may keep a zombie around: bounded, like the rest.
  if (signalGroup("SIGKILL")) {
    const killDeadline = Date.now() + 5_000;
    while (signalGroup(0) && Date.now() < killDeadline) await new Promise((done) => setTimeout(done, 100));
  }
}
