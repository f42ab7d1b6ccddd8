// Own server (server/main.ts) against @react-router/express on the same build, with autocannon:
// a page (GET /login) and a small JSON POST that reads its body (POST /api/payments/portal, no
// session: 401). `npx tsx bench/server.bench.ts` after `npm run build`; the express side runs only
// where express and @react-router/express are installed (`npm install --no-save ...`).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

type Result = { requests: { average: number }; latency: { mean: number; p99: number }; non2xx: number; errors: number };
// autocannon ships no types; this is the part used here.
const autocannon = (await import("autocannon" as string)).default as (options: Record<string, unknown>) => Promise<Result>;

const BUILD = path.resolve("build/server/index.js");
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);

async function start(script: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, BUILD], {
    env: {
      ...process.env,
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: await mkdtemp(path.join(tmpdir(), "bench-server-")),
      // Access logs on, as in production (both servers write one line per request to this pipe).
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("server.listening") && resolve());
    child.once("exit", (code) => reject(new Error(`${script} exited ${code}`)));
  });
  return child;
}

async function run(port: number, method: "GET" | "POST") {
  const result = await autocannon({
    url: method === "GET" ? `http://127.0.0.1:${port}/login` : `http://127.0.0.1:${port}/api/payments/portal`,
    method,
    connections: 10,
    duration: DURATION_S,
    ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: '{"returnUrl":"/account"}' } : {}),
  });
  return {
    "req/s": Math.round(result.requests.average),
    "mean ms": result.latency.mean,
    "p99 ms": result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const expressInstalled = await import("@react-router/express" as string).then(
  () => true,
  () => false,
);
const servers: [string, string, number][] = [["own (node:http)", "server/main.ts", 5120]];
if (expressInstalled) servers.push(["@react-router/express", "bench/express-server.ts", 5121]);

const rows: Record<string, unknown>[] = [];
for (const [name, script, port] of servers) {
  const child = await start(script, port);
  try {
    await run(port, "GET"); // warm-up
    rows.push({ server: name, request: "GET /login", ...(await run(port, "GET")) });
    rows.push({ server: name, request: "POST JSON (401)", ...(await run(port, "POST")) });
  } finally {
    child.kill("SIGTERM");
  }
}
console.table(rows);
