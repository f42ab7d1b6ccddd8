import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import type { Door } from "./load.ts";
import { probe } from "./load.ts";
import { freePort, listeningPid, memoryMiB, startProcess, waitForOutput, waitForPort, type Started } from "./processes.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");
/** Where the framework floor's build goes (see bench/framework-floor/react-router.config.ts). */
export const FRAMEWORK_FLOOR_BUILD = path.join(ROOT, "node_modules/.cache/bench-framework-floor");
const FRAMEWORK_FLOOR_SERVER = path.join(FRAMEWORK_FLOOR_BUILD, "server/index.js");
const START_TIMEOUT_MS = 120_000;

export type Emulator = { origin: string; pid: number; process: Started };

/** One row of the results: a kind of request on one server. */
export type TargetDoor = {
  target: string;
  label: string;
  door: Door;
  /** It calls the provider: measured with the emulator's CPU, and in the delayed-provider run. */
  callsProvider: boolean;
};

export type ServerRecord = {
  server: string;
  /** Resident memory once started and signed in, before any load. */
  idleRssMiB: number;
  /** The highest resident memory up to that moment: start-up (migrations, seed, imports). */
  startupPeakMiB: number;
  /** The highest resident memory over the whole run (VmHWM when it stopped). */
  peakRssMiB: number;
  notes: string[];
};

export type RunningServer = {
  name: string;
  origin: string;
  pid: number;
  doors: TargetDoor[];
  record: ServerRecord;
  /** The provider calls go to the shared emulator (false: the app started its own, in-process). */
  usesSharedEmulator: boolean;
  stop: () => Promise<void>;
};

/** Runs a command to completion (a build), failing with its output. */
export async function runToEnd(name: string, command: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const started = startProcess(name, command, args, { cwd: ROOT, env });
  const code = await new Promise<number | null>((resolve) => started.child.once("exit", (exitCode) => resolve(exitCode)));
  await started.stop();
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${started.output()}`);
}

export async function buildApp(): Promise<void> {
  await runToEnd("app build", "npm", ["run", "build"]);
}

export async function buildFrameworkFloor(): Promise<void> {
  await runToEnd("framework-floor build", "npm", ["exec", "--no", "--", "react-router", "build", "bench/framework-floor", "--emptyOutDir"], {
    BENCH_FRAMEWORK_FLOOR_BUILD: FRAMEWORK_FLOOR_BUILD,
  });
}

export async function startEmulator(): Promise<Emulator> {
  // Port 0: the emulator takes a free port and prints its origin.
  const started = startProcess("emulator", "npm", ["run", "emulator"], {
    cwd: ROOT,
    env: { EMULATOR_PORT: "0", PAYMENT_EMULATOR_PORT: "0", APP_URL: "http://127.0.0.1:9" },
  });
  const origin = new URL(await waitForOutput(started, /listening on (http:\/\/\S+)/, START_TIMEOUT_MS)).origin;
  const pid = listeningPid(started.child.pid!, Number(new URL(origin).port));
  return { origin, pid, process: started };
}

/** Every later Polar call, until `clearProviderDelay`, is held back `delayMs` by the emulator's failure injection. */
export async function delayProviderCalls(emulator: Emulator, delayMs: number): Promise<void> {
  const response = await fetch(`${emulator.origin}/__emulator/failures`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // A count no run reaches: the delay stays on for the whole point, warm-up included.
    body: JSON.stringify({ provider: "polar", delayMs, times: 100_000_000 }),
  });
  if (response.status !== 201) throw new Error(`emulator refused the delay: ${response.status} ${await response.text()}`);
}

export async function clearProviderDelay(emulator: Emulator): Promise<void> {
  const response = await fetch(`${emulator.origin}/__emulator/reset`, { method: "POST" });
  if (!response.ok) throw new Error(`emulator reset failed: ${response.status}`);
}

async function polarCallsSeen(emulator: Emulator): Promise<number> {
  const response = await fetch(`${emulator.origin}/__emulator/requests?provider=polar`);
  return ((await response.json()) as unknown[]).length;
}

async function startServe(name: string, options: { port: number; buildPath?: string; env: Record<string, string> }) {
  // `npm run serve` is our server entry (`node server/main.ts [build]`): another build is its argument.
  const args = ["run", "serve", ...(options.buildPath ? ["--", options.buildPath] : [])];
  const started = startProcess(name, "npm", args, {
    cwd: ROOT,
    env: { PORT: String(options.port), ...options.env },
  });
  await waitForPort(started, options.port, START_TIMEOUT_MS);
  return { started, pid: listeningPid(started.child.pid!, options.port) };
}

async function settle(pid: number): Promise<{ idleRssMiB: number; startupPeakMiB: number }> {
  await sleep(1000);
  const memory = memoryMiB(pid);
  return { idleRssMiB: memory.rss, startupPeakMiB: memory.peak };
}

function closer(started: Started, pid: number, record: ServerRecord, cleanup: () => void = () => {}) {
  return async () => {
    try {
      record.peakRssMiB = memoryMiB(pid).peak;
    } catch {
      // Already gone: the peak stays unknown.
    }
    await started.stop();
    cleanup();
  };
}

async function expectDoor(origin: string, target: TargetDoor, server: Started): Promise<void> {
  const answer = await probe(origin, target.door);
  if (!answer.ok) {
    throw new Error(
      `${target.target}: POST ${target.door.path} answered ${answer.status} ${answer.location ?? ""}, ` +
        `expected ${target.door.expectStatus} to ${target.door.expectLocation}…\n${server.output()}`,
    );
  }
}

/** (a) The floor: bare node:http answering 303, run by plain node (no loader). */
export async function startFloor(): Promise<RunningServer> {
  const port = await freePort();
  const started = startProcess("floor", process.execPath, [path.join(ROOT, "bench/floor-server.ts")], {
    cwd: ROOT,
    env: { PORT: String(port) },
  });
  await waitForPort(started, port, START_TIMEOUT_MS);
  const pid = listeningPid(started.child.pid!, port);
  const origin = `http://127.0.0.1:${port}`;
  const doors: TargetDoor[] = [
    {
      target: "floor",
      label: "bare node:http answering 303",
      door: { path: "/", expectStatus: 303, expectLocation: "/done" },
      callsProvider: false,
    },
  ];
  await expectDoor(origin, doors[0]!, started);
  const record: ServerRecord = { server: "floor", ...(await settle(pid)), peakRssMiB: Number.NaN, notes: [] };
  return { name: "floor", origin, pid, doors, record, usesSharedEmulator: false, stop: closer(started, pid, record) };
}

/**
 * The emulator alone: Polar's customer-session call, straight from the load generator. Every target that
 * calls the provider waits on this process, so its own latency (the delayed run's above all) is the floor
 * under theirs on this machine. The emulator is the harness's; this target neither starts nor stops it.
 */
export async function startEmulatorFloor(emulator: Emulator): Promise<RunningServer> {
  const polar = DEMO_ACCOUNTS.find((account) => account.customer?.provider === "polar")!.customer!;
  const doors: TargetDoor[] = [
    {
      target: "emulator",
      label: "the emulator alone: Polar's `POST /v1/customer-sessions/` straight from the load generator",
      door: {
        path: "/v1/customer-sessions/",
        headers: { "content-type": "application/json", authorization: "Bearer polar_oat_benchmark" },
        body: JSON.stringify({ customer_id: polar.providerCustomerId, return_url: "http://127.0.0.1:9/account" }),
        expectStatus: 201,
        expectLocation: "",
      },
      callsProvider: true,
    },
  ];
  const answer = await probe(emulator.origin, doors[0]!.door);
  if (!answer.ok) throw new Error(`the emulator answered ${answer.status} to Polar's customer-session call`);
  const memory = memoryMiB(emulator.pid);
  const record: ServerRecord = { server: "emulator", idleRssMiB: memory.rss, startupPeakMiB: memory.peak, peakRssMiB: Number.NaN, notes: [] };
  return {
    name: "emulator",
    origin: emulator.origin,
    pid: emulator.pid,
    doors,
    record,
    usesSharedEmulator: true,
    stop: async () => {
      record.peakRssMiB = memoryMiB(emulator.pid).peak;
    },
  };
}

/** (b) The framework floor: a one-action React Router app, served the way `npm run serve` serves the app. */
export async function startFrameworkFloor(): Promise<RunningServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const { started, pid } = await startServe("framework-floor", {
    port,
    buildPath: FRAMEWORK_FLOOR_SERVER,
    // It opens no database: V8's defaults, as for any server (server/main.ts would tune it for the embedded one).
    env: { APP_URL: origin, EMBEDDED_V8_FLAGS: "0" },
  });
  const doors: TargetDoor[] = [
    {
      target: "framework-floor",
      label: "minimal React Router 8 action answering 303 (same server as the app)",
      door: { path: "/redirect", expectStatus: 303, expectLocation: "/done" },
      callsProvider: false,
    },
  ];
  const answer = await probe(origin, doors[0]!.door);
  if (!answer.ok) {
    throw new Error(
      `the framework floor answered ${answer.status}: the server did not load its build (${FRAMEWORK_FLOOR_SERVER}). ` +
        `Does \`npm run serve\` honour BUILD_PATH?\n${started.output()}`,
    );
  }
  const record: ServerRecord = { server: "framework-floor", ...(await settle(pid)), peakRssMiB: Number.NaN, notes: [] };
  return { name: "framework-floor", origin, pid, doors, record, usesSharedEmulator: false, stop: closer(started, pid, record) };
}

/** (c) The peer: `@polar-sh/remix`'s CustomerPortal as an action of the framework floor's app (no session, no database). */
export async function startPeer(emulator: Emulator): Promise<RunningServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const { started, pid } = await startServe("peer", {
    port,
    buildPath: FRAMEWORK_FLOOR_SERVER,
    // No database either: V8's defaults, as for the framework floor.
    env: { APP_URL: origin, BENCH_POLAR_API_URL: emulator.origin, EMBEDDED_V8_FLAGS: "0" },
  });
  const doors: TargetDoor[] = [
    {
      target: "peer",
      label: "`@polar-sh/remix` 0.3.11 `CustomerPortal` as a React Router action (no session, no database)",
      // Response.redirect's default status.
      door: { path: "/peer/portal", expectStatus: 302, expectLocation: `${emulator.origin}/portal/` },
      callsProvider: true,
    },
  ];
  await expectDoor(origin, doors[0]!, started);
  const record: ServerRecord = { server: "peer", ...(await settle(pid)), peakRssMiB: Number.NaN, notes: [] };
  return { name: "peer", origin, pid, doors, record, usesSharedEmulator: true, stop: closer(started, pid, record) };
}

async function signIn(origin: string, email: string): Promise<string> {
  const response = await fetch(`${origin}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ email, password: DEMO_PASSWORD }),
  });
  await response.arrayBuffer();
  const cookies = response.headers.getSetCookie().map((cookie) => cookie.split(";")[0]!);
  if (response.status >= 400 || cookies.length === 0) throw new Error(`sign-in as ${email} answered ${response.status}`);
  return cookies.join("; ");
}

/** The provider-call limit's quota in the benchmark: the configuration's maximum, far above any run's requests. */
export const BENCH_PROVIDER_CALLS_PER_MINUTE = "1000000";

/** (d) The app, from its own build, with `npm run serve`, on the embedded database or PostgreSQL. */
export async function startApp(emulator: Emulator, database: { kind: "embedded" } | { kind: "postgres"; url: string }) {
  const name = `app-${database.kind}`;
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-app-data-"));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  let server: Awaited<ReturnType<typeof startServe>>;
  try {
    server = await startServe(name, {
      port,
      env: {
        APP_URL: origin,
        DATA_DIR: dataDir,
        PAYMENT_PROVIDER: "polar",
        PAYMENT_EMULATOR: "1",
        PAYMENT_EMULATOR_URL: emulator.origin,
        // What ships: the per-user provider-call limit is on, counted in the database as in a deployment, with a
        // quota no run reaches (one user asks again and again; the default 10 a minute would answer most of it).
        RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: BENCH_PROVIDER_CALLS_PER_MINUTE,
        ...(database.kind === "postgres" ? { DATABASE_URL: database.url } : {}),
      },
    });
  } catch (error) {
    removeDataDir();
    throw error;
  }
  const { started, pid } = server;
  const record: ServerRecord = { server: name, idleRssMiB: Number.NaN, startupPeakMiB: Number.NaN, peakRssMiB: Number.NaN, notes: [] };
  const stop = closer(started, pid, record, removeDataDir);
  try {
    const payer = await signIn(origin, DEMO_ACCOUNTS[1].email);
    const nobody = await signIn(origin, DEMO_ACCOUNTS[3].email);
    const formDoor = (cookie: string, expectLocation: string): Door => ({
      path: "/billing/portal",
      headers: { cookie, origin },
      body: "returnUrl=%2Faccount",
      expectStatus: 303,
      expectLocation,
    });

    // Which emulator does the app call? Until it reads PAYMENT_EMULATOR_URL it starts its own.
    await clearProviderDelay(emulator);
    const first = await probe(origin, formDoor(payer, "http"));
    if (!first.ok) throw new Error(`${name}: the form door answered ${first.status} ${first.location ?? ""}\n${started.output()}`);
    const usesSharedEmulator = (await polarCallsSeen(emulator)) > 0;
    if (!usesSharedEmulator) {
      record.notes.push(
        "The app ignored PAYMENT_EMULATOR_URL and called an emulator in its own process: its CPU and memory include that emulator's, and the delayed-provider run was skipped.",
      );
    }
    const portalPrefix = usesSharedEmulator ? `${emulator.origin}/portal/` : `${new URL(first.location!).origin}/portal/`;
    const doors: TargetDoor[] = [
      {
        target: name,
        label: `app on ${database.kind === "embedded" ? "the embedded database" : "PostgreSQL"}: form door, signed in with a customer`,
        door: formDoor(payer, portalPrefix),
        callsProvider: true,
      },
      {
        target: `${name}-no-customer`,
        label: `app on ${database.kind === "embedded" ? "the embedded database" : "PostgreSQL"}: signed in, no customer (the "404" path)`,
        door: formDoor(nobody, "/account"),
        callsProvider: false,
      },
    ];
    for (const door of doors) await expectDoor(origin, door, started);
    Object.assign(record, await settle(pid));
    return { name, origin, pid, doors, record, usesSharedEmulator, stop } satisfies RunningServer;
  } catch (error) {
    await stop();
    throw error;
  }
}
