// Development aid, not part of `npm run bench`: one app target under load, its memory, and optionally its
// main thread profiled (the "Where the time goes" figures in docs/benchmarks.md come from such runs):
//   PROFILE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=.prof" BENCH_DATABASE_URL=… npx tsx bench/profile.ts [postgres|embedded] [customer|nobody] [concurrency] [seconds]
import { measurePoint } from "./http/load.ts";
import { memoryMiB, stopAll } from "./http/processes.ts";
import { startApp, startEmulator } from "./http/targets.ts";

const [kind = "postgres", which = "customer", c = "100", seconds = "8"] = process.argv.slice(2);
const emulator = await startEmulator();
if (process.env.PROFILE_NODE_OPTIONS) process.env.NODE_OPTIONS = process.env.PROFILE_NODE_OPTIONS;
const server = await startApp(emulator, kind === "postgres" ? { kind, url: process.env.BENCH_DATABASE_URL! } : { kind: "embedded" });
delete process.env.NODE_OPTIONS;
console.log("idle", server.record.idleRssMiB, "startup peak", server.record.startupPeakMiB);
const door = server.doors[which === "customer" ? 0 : 1]!;
const point = await measurePoint({ target: door.target, origin: server.origin, door: door.door, seconds: Number(seconds), warmupSeconds: 1, serverPid: server.pid, concurrency: Number(c) });
console.log(`${Math.round(point.requestsPerSecond)} req/s p50 ${point.latencyMs.p50.toFixed(2)} p99 ${point.latencyMs.p99.toFixed(1)} cpu ${point.serverCpuMsPerRequest.toFixed(3)} errors ${point.errors + point.unexpected} rss-now ${memoryMiB(server.pid).rss.toFixed(0)} peak ${memoryMiB(server.pid).peak.toFixed(0)}`);
await server.stop();
await stopAll();
