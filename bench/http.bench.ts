import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, platform, release } from "node:os";
import path from "node:path";
import { measurePoint, type Point } from "./http/load.ts";
import { stopAll } from "./http/processes.ts";
import { computeRatios, evaluateGoals, pointRows, renderMarkdown, renderSvg, type Results } from "./http/report.ts";
import {
  buildApp,
  buildFrameworkFloor,
  clearProviderDelay,
  delayProviderCalls,
  ROOT,
  startApp,
  startEmulator,
  startEmulatorFloor,
  startFloor,
  startFrameworkFloor,
  startPeer,
  type Emulator,
  type RunningServer,
  type ServerRecord,
} from "./http/targets.ts";

// `npm run bench`, first stage: the app over HTTP next to the floor, the framework floor and the peer
// (issue 9). Every setting has a default for the full run; shorter runs for development:
//   BENCH_SECONDS (5) per point, BENCH_WARMUP_SECONDS (1), BENCH_CONCURRENCY ("1,10,100"),
//   BENCH_PROVIDER_DELAY_MS (300) and BENCH_DELAY_CONCURRENCY (200) for the slow-provider run,
//   BENCH_DATABASE_URL (PostgreSQL, optional), BENCH_SERVERS (a subset of: floor, emulator, framework-floor, peer,
//   app-embedded, app-postgres), BENCH_SKIP_BUILD=1 (reuse both builds), BENCH_LABEL (printed atop the
//   document, e.g. "Development run on a busy machine"), BENCH_STRICT=1 (exit 1 when a target is missed),
//   BENCH_REPORT_ONLY=1 (rewrite the document and chart from bench/results.json without measuring).
const env = process.env;
const secondsPerPoint = Number(env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(env.BENCH_WARMUP_SECONDS ?? 1);
const concurrencies = (env.BENCH_CONCURRENCY ?? "1,10,100").split(",").map(Number);
const providerDelay = { ms: Number(env.BENCH_PROVIDER_DELAY_MS ?? 300), concurrency: Number(env.BENCH_DELAY_CONCURRENCY ?? 200) };
const databaseUrl = env.BENCH_DATABASE_URL || undefined;
const allServers = ["floor", "emulator", "framework-floor", "peer", "app-embedded", ...(databaseUrl ? ["app-postgres"] : [])];
const selected = env.BENCH_SERVERS ? env.BENCH_SERVERS.split(",").map((s) => s.trim()) : allServers;
const servers = allServers.filter((name) => selected.includes(name));

const RESULTS_FILE = path.join(ROOT, "bench/results.json");
const DOC_FILE = path.join(ROOT, "docs/benchmarks.md");
const CHART_FILE = path.join(ROOT, "docs/benchmarks.svg");

const log = (message: string) => console.log(`[bench] ${message}`);

function start(name: string, emulator: Emulator): Promise<RunningServer> {
  if (name === "floor") return startFloor();
  if (name === "emulator") return startEmulatorFloor(emulator);
  if (name === "framework-floor") return startFrameworkFloor();
  if (name === "peer") return startPeer(emulator);
  if (name === "app-embedded") return startApp(emulator, { kind: "embedded" });
  return startApp(emulator, { kind: "postgres", url: databaseUrl! });
}

async function measureServer(server: RunningServer, emulator: Emulator): Promise<Point[]> {
  const points: Point[] = [];
  const record = (point: Point) => {
    points.push(point);
    const p = point;
    log(
      `${p.target} c=${p.concurrency}${p.providerDelayMs ? ` +${p.providerDelayMs} ms` : ""}: ${Math.round(p.requestsPerSecond)} req/s, ` +
        `p50 ${p.latencyMs.p50.toFixed(2)} ms, p99 ${p.latencyMs.p99.toFixed(2)} ms, ${p.errors + p.unexpected} errors, ` +
        `${p.serverCpuMsPerRequest.toFixed(3)} ms CPU/req`,
    );
  };
  for (const { target, door, callsProvider } of server.doors) {
    const common = {
      target,
      origin: server.origin,
      door,
      seconds: secondsPerPoint,
      warmupSeconds,
      serverPid: server.pid,
      // The emulator target is the emulator: its CPU is the server's column already.
      ...(callsProvider && server.usesSharedEmulator && server.pid !== emulator.pid ? { emulatorPid: emulator.pid } : {}),
    };
    for (const concurrency of concurrencies) record(await measurePoint({ ...common, concurrency }));
    if (callsProvider && server.usesSharedEmulator && providerDelay.ms > 0) {
      await delayProviderCalls(emulator, providerDelay.ms);
      try {
        record(await measurePoint({ ...common, concurrency: providerDelay.concurrency, providerDelayMs: providerDelay.ms }));
      } finally {
        await clearProviderDelay(emulator);
      }
    }
  }
  return points;
}

async function main(): Promise<Results> {
  const startedAt = performance.now();
  const loadAverageAtStart = loadavg();
  if (env.BENCH_SKIP_BUILD !== "1") {
    if (servers.some((name) => name.startsWith("app-"))) {
      log("building the app (npm run build)");
      await buildApp();
    }
    if (servers.includes("framework-floor") || servers.includes("peer")) {
      log("building the framework floor (bench/framework-floor)");
      await buildFrameworkFloor();
    }
  }

  const points: Point[] = [];
  const records: ServerRecord[] = [];
  const targets: Results["targets"] = [];
  for (const name of servers) {
    // A fresh emulator for each server: none pays for the portal sessions an earlier one left in it.
    const emulator = await startEmulator();
    try {
      log(`starting ${name}`);
      const server = await start(name, emulator);
      try {
        targets.push(...server.doors.map(({ target, label }) => ({ target, label })));
        points.push(...(await measureServer(server, emulator)));
      } finally {
        await server.stop();
        records.push(server.record);
      }
    } finally {
      await emulator.process.stop();
    }
  }

  const cpu = cpus()[0];
  return {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cores: availableParallelism(),
      cpuModel: cpu?.model.trim() ?? "unknown",
      platform: `${platform()} ${release()}`,
      loadAverageAtStart,
      secondsPerPoint,
      warmupSeconds,
      concurrencies,
      providerDelay,
      label: env.BENCH_LABEL || null,
      postgres: Boolean(databaseUrl),
      elapsedSeconds: (performance.now() - startedAt) / 1000,
    },
    targets,
    servers: records,
    points,
    ratios: computeRatios(points),
    goals: evaluateGoals(points, records),
  };
}

/** Ratios and goals as this version of the report computes them, from the stored points. */
function rescored(results: Results): Results {
  return { ...results, ratios: computeRatios(results.points), goals: evaluateGoals(results.points, results.servers) };
}

try {
  // BENCH_REPORT_ONLY=1: the document and chart again from bench/results.json, measuring nothing (after a change
  // to the report's wording; the figures stay those of the run that wrote the file).
  const results = env.BENCH_REPORT_ONLY === "1" ? rescored(JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as Results) : await main();
  mkdirSync(path.dirname(DOC_FILE), { recursive: true });
  if (env.BENCH_REPORT_ONLY !== "1") writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(CHART_FILE, renderSvg(results));
  writeFileSync(DOC_FILE, renderMarkdown(results, path.basename(CHART_FILE)));
  console.table(pointRows(results.points));
  for (const goal of results.goals) console.log(`${goal.status.padEnd(12)} ${goal.goal}: ${goal.measured}`);
  if (env.BENCH_REPORT_ONLY === "1") log(`rewrote ${path.relative(ROOT, DOC_FILE)} and ${path.relative(ROOT, CHART_FILE)} from ${path.relative(ROOT, RESULTS_FILE)}`);
  else log(`wrote ${path.relative(ROOT, RESULTS_FILE)}, ${path.relative(ROOT, DOC_FILE)} and ${path.relative(ROOT, CHART_FILE)} in ${Math.round(results.meta.elapsedSeconds)} s`);
  if (env.BENCH_STRICT === "1" && results.goals.some((goal) => goal.status === "missed")) process.exitCode = 1;
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await stopAll();
}
