import type { Point } from "./load.ts";
import type { ServerRecord } from "./targets.ts";

export type Meta = {
  date: string;
  node: string;
  cores: number;
  cpuModel: string;
  platform: string;
  /** 1, 5 and 15-minute load averages when the run began: a busy machine makes the figures meaningless. */
  loadAverageAtStart: number[];
  secondsPerPoint: number;
  warmupSeconds: number;
  concurrencies: number[];
  providerDelay: { ms: number; concurrency: number };
  /** Set for runs that must not be read as final (BENCH_LABEL), e.g. a development run on a busy machine. */
  label: string | null;
  postgres: boolean;
  elapsedSeconds: number;
};

export type Ratio = {
  target: string;
  concurrency: number;
  rpsVsFloor: number;
  rpsVsFrameworkFloor: number;
  rpsVsPeer: number;
  cpuVsFrameworkFloor: number;
  cpuVsPeer: number;
};

/** "reference": not a target, the same measurement without the app, to read a missed target against. */
export type Goal = { goal: string; measured: string; status: "met" | "missed" | "not measured" | "reference" };

export type Results = {
  meta: Meta;
  targets: { target: string; label: string }[];
  servers: ServerRecord[];
  points: Point[];
  ratios: Ratio[];
  goals: Goal[];
};

const steady = (points: Point[], target: string, concurrency: number) =>
  points.find((p) => p.target === target && p.concurrency === concurrency && p.providerDelayMs === 0);
const delayed = (points: Point[], target: string) => points.find((p) => p.target === target && p.providerDelayMs > 0);

export function computeRatios(points: Point[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const point of points) {
    if (point.providerDelayMs > 0 || point.target === "floor") continue;
    const floor = steady(points, "floor", point.concurrency);
    const framework = steady(points, "framework-floor", point.concurrency);
    const peer = steady(points, "peer", point.concurrency);
    ratios.push({
      target: point.target,
      concurrency: point.concurrency,
      rpsVsFloor: point.requestsPerSecond / (floor?.requestsPerSecond ?? Number.NaN),
      rpsVsFrameworkFloor: point.requestsPerSecond / (framework?.requestsPerSecond ?? Number.NaN),
      rpsVsPeer: point.requestsPerSecond / (peer?.requestsPerSecond ?? Number.NaN),
      cpuVsFrameworkFloor: point.serverCpuMsPerRequest / (framework?.serverCpuMsPerRequest ?? Number.NaN),
      cpuVsPeer: point.serverCpuMsPerRequest / (peer?.serverCpuMsPerRequest ?? Number.NaN),
    });
  }
  return ratios;
}

const times = (value: number) => `${value.toFixed(2)}x`;
const ms = (value: number) => `${formatMs(value)} ms`;
const mib = (value: number) => `${value.toFixed(0)} MiB`;
const roundedMib = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–");

/** The issue's targets (issue 9, "Targets"), checked against this run. */
export function evaluateGoals(points: Point[], servers: ServerRecord[]): Goal[] {
  const goals: Goal[] = [];
  const check = (goal: string, measured: number | undefined, ok: (value: number) => boolean, format: (value: number) => string) => {
    if (measured === undefined || !Number.isFinite(measured)) goals.push({ goal, measured: "–", status: "not measured" });
    else goals.push({ goal, measured: format(measured), status: ok(measured) ? "met" : "missed" });
  };

  const pg = steady(points, "app-postgres", 100);
  const peer = steady(points, "peer", 100);
  const pgNoCustomer = steady(points, "app-postgres-no-customer", 100);
  const framework = steady(points, "framework-floor", 100);
  check("PostgreSQL, form door, c=100: req/s at least 1.0x the peer's", pg && peer && pg.requestsPerSecond / peer.requestsPerSecond, (v) => v >= 1, times);
  check(
    "PostgreSQL, form door, c=100: CPU per request at most the peer's (1.0x)",
    pg && peer && pg.serverCpuMsPerRequest / peer.serverCpuMsPerRequest,
    (v) => v <= 1,
    times,
  );
  check(
    "PostgreSQL, signed in without a customer, c=100: req/s at least 0.5x the framework floor's",
    pgNoCustomer && framework && pgNoCustomer.requestsPerSecond / framework.requestsPerSecond,
    (v) => v >= 0.5,
    times,
  );
  check("PostgreSQL, form door, c=1: p50 at most 1.5 ms", steady(points, "app-postgres", 1)?.latencyMs.p50, (v) => v <= 1.5, ms);
  for (const target of ["app-postgres", "app-embedded"]) {
    const point = delayed(points, target);
    const where = target === "app-postgres" ? "PostgreSQL" : "Embedded database";
    check(
      `${where}, every provider call +${point?.providerDelayMs ?? 300} ms, c=${point?.concurrency ?? 200}: added p99 at most 30 ms`,
      point && point.latencyMs.p99 - point.providerDelayMs,
      (v) => v <= 30,
      ms,
    );
    check(`${where}, delayed provider: no errors`, point && point.errors + point.unexpected, (v) => v === 0, (v) => `${v} errors`);
  }
  // What the delayed run gives with no app in it: the load generator straight at the emulator, and the peer.
  for (const [target, what] of [
    ["emulator", "the emulator alone, straight from the load generator"],
    ["peer", "the peer"],
  ] as const) {
    const point = delayed(points, target);
    if (!point) continue;
    goals.push({
      goal: `Reference: ${what}, every provider call +${point.providerDelayMs} ms, c=${point.concurrency}: added p99`,
      measured: ms(point.latencyMs.p99 - point.providerDelayMs),
      status: "reference",
    });
  }
  check("Embedded database, form door, c=100: p99 at most 500 ms", steady(points, "app-embedded", 100)?.latencyMs.p99, (v) => v <= 500, ms);
  const embedded = servers.find((s) => s.server === "app-embedded");
  check("Embedded database: idle RSS at most 250 MiB", embedded?.idleRssMiB, (v) => v <= 250, mib);
  check("Embedded database: start-up peak at most 400 MiB", embedded?.startupPeakMiB, (v) => v <= 400, mib);
  const pgUnderLoad = points.filter((p) => p.target.startsWith("app-postgres")).map((p) => p.serverRssMiB);
  check("PostgreSQL: RSS under load at most 200 MiB", pgUnderLoad.length ? Math.max(...pgUnderLoad) : undefined, (v) => v <= 200, mib);
  return goals;
}

// ---- formatting ----

export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toLocaleString("en-US");
}

function formatCpu(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "–";
  return value < 0.1 ? value.toFixed(3) : value.toFixed(2);
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "–";
}

export function pointRows(points: Point[]) {
  return points.map((p) => ({
    target: p.target,
    c: p.providerDelayMs ? `${p.concurrency} (+${p.providerDelayMs} ms)` : String(p.concurrency),
    "req/s": Math.round(p.requestsPerSecond).toLocaleString("en-US"),
    "p50 ms": formatMs(p.latencyMs.p50),
    "p99 ms": formatMs(p.latencyMs.p99),
    "max ms": formatMs(p.latencyMs.max),
    errors: p.errors,
    unexpected: p.unexpected,
    "CPU ms/req": formatCpu(p.serverCpuMsPerRequest),
    "emulator CPU ms/req": formatCpu(p.emulatorCpuMsPerRequest),
    "RSS MiB": Math.round(p.serverRssMiB),
  }));
}

const tableLine = (cells: (string | number)[]) => `| ${cells.map((cell) => String(cell).replaceAll("|", "\\|")).join(" | ")} |`;

function markdownTable(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return "_(none)_";
  const columns = Object.keys(rows[0]!);
  return [tableLine(columns), tableLine(columns.map(() => "---")), ...rows.map((row) => tableLine(columns.map((column) => row[column] ?? "")))].join("\n");
}

export function renderMarkdown(results: Results, chartFile: string): string {
  const { meta } = results;
  const label = meta.label
    ? `> **${meta.label}.** These figures are not the benchmark's result: rerun \`npm run bench\` on a quiet machine and commit what it writes.\n\n`
    : "";
  return `# Benchmarks

<!-- Generated by \`npm run bench\` (bench/http.bench.ts): edit the generator, not this file. -->

${label}What a "Manage billing" costs over HTTP, next to the least a server can do (the floor), the least React Router
can do (the framework floor: a one-action app served by the same server as the app), and Polar's own adapter (the
peer: \`@polar-sh/remix\`'s \`CustomerPortal\`, no session, no database). Every provider call goes to one emulator in
its own process (\`npm run emulator\`), started afresh for each server so that none pays for the portal sessions an
earlier one left in it. Load: [autocannon](https://github.com/mcollina/autocannon) in the harness's process, on the same
machine as the servers; latency is measured per response, CPU is the server process's user + system time
(\`/proc/<pid>/stat\`) divided by the requests it answered, memory is its resident set (\`/proc/<pid>/status\`).

- Date: ${meta.date}
- Machine: ${meta.cores} cores (${meta.cpuModel}), ${meta.platform}; load average at start ${meta.loadAverageAtStart.map((v) => v.toFixed(2)).join(", ")}
- Node ${meta.node}
- ${meta.secondsPerPoint} s per point after ${meta.warmupSeconds} s of warm-up; concurrency ${meta.concurrencies.join(", ")}; every provider call delayed ${meta.providerDelay.ms} ms at c=${meta.providerDelay.concurrency}
- PostgreSQL: ${meta.postgres ? "measured (BENCH_DATABASE_URL)" : "not measured (set BENCH_DATABASE_URL to include it)"}
- Whole run: ${Math.round(meta.elapsedSeconds)} s

![Requests per second and p99 latency against concurrency, per target](${chartFile})

## Targets

${markdownTable(results.targets.map((t) => ({ target: t.target, what: t.label })))}

## Results

${markdownTable(pointRows(results.points))}

"unexpected" counts answers other than the expected redirect (a 4xx, a 5xx, or a redirect back to the account page
with an error message). "emulator CPU" is the emulator process's time per request, for the targets that call it.

## Memory

${markdownTable(
  results.servers.map((s) => ({
    server: s.server,
    "idle RSS MiB": roundedMib(s.idleRssMiB),
    "start-up peak MiB": roundedMib(s.startupPeakMiB),
    "peak over the run MiB": roundedMib(s.peakRssMiB),
  })),
)}

Idle is measured once started and signed in, before any load; the start-up peak is the highest resident memory up to
then.

## Ratios

Requests per second and CPU per request of each target over the floor's, the framework floor's and the peer's, at the
same concurrency.

${markdownTable(
  results.ratios.map((r) => ({
    target: r.target,
    c: r.concurrency,
    "req/s vs floor": formatRatio(r.rpsVsFloor),
    "req/s vs framework floor": formatRatio(r.rpsVsFrameworkFloor),
    "req/s vs peer": formatRatio(r.rpsVsPeer),
    "CPU/req vs framework floor": formatRatio(r.cpuVsFrameworkFloor),
    "CPU/req vs peer": formatRatio(r.cpuVsPeer),
  })),
)}

## Against the issue's targets

${markdownTable(results.goals.map((g) => ({ target: g.goal, measured: g.measured, status: g.status })))}

"Added p99" is the delayed run's p99 less the delay the emulator adds to each provider call.
${notes(results.servers)}
${PROFILES}
## Rerun

\`npm run bench\` builds the app and the framework floor (\`bench/framework-floor/\`), starts every server with the
package's \`serve\` script, measures, stops them, and writes this file, \`docs/benchmarks.svg\` and
\`bench/results.json\`. Set \`BENCH_DATABASE_URL=postgresql://…\` to include PostgreSQL (the app migrates and seeds
that database). Shorter runs: \`BENCH_SECONDS\`, \`BENCH_WARMUP_SECONDS\`, \`BENCH_CONCURRENCY=1,10\`,
\`BENCH_SERVERS=floor,peer\`, \`BENCH_SKIP_BUILD=1\`; \`BENCH_LABEL\` marks a run that is not to be read as final;
\`BENCH_REPORT_ONLY=1\` rewrites this file and the chart from \`bench/results.json\` without measuring. To profile one
app target: \`PROFILE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=.prof" npx tsx bench/profile.ts postgres customer 100 8\`
(with \`BENCH_DATABASE_URL\`; \`embedded\` needs none).
`;
}

/**
 * Where the main thread's time goes, from `--cpu-prof` on `node server/main.ts` under load (form door, signed in,
 * Polar, emulator in its own process). Written by hand from profiles taken on 2026-11-29; retake them when the hot
 * path changes (issue 9).
 */
const PROFILES = `## Where the time goes (profiles)

Taken with \`bench/profile.ts\` (one app target under load, \`--cpu-prof\` on the server): shares of the main
thread's samples, idle included.

- **PostgreSQL, c=50, before issue 9's changes** (2.6 ms CPU per request under the profiler): undici (the provider
  call) 10%, Prisma 8%, WebCrypto 7% (React Router's cookie check imports the HMAC key and verifies through
  \`crypto.subtle\` on every request), React Router 6%, node-postgres 3%, socket writes 11% (three SQL statements:
  session, user, customer). Then: one SQL statement for session, user and customers; the cookie verified with
  node:crypto HMAC keys made once.
- **PostgreSQL, c=100, at the start of the second pass**: socket writes 11% (\`writev\`; 8.6% of it node-postgres
  sending a query: two per click, the session lookup and the billing activity's insert), Prisma 10%, undici 9%,
  React Router 7%, GC 5%; React Router compiling every route's path pattern again for our 405 check 1.3%
  (\`compilePath\`), and a \`DOMException\` with its stack made per provider call 1.4% (cockatiel aborting the
  call's signal after it returned). Each was removed: the activity is written behind (ADR 017: one multi-row insert
  per 100 ms, none on the click's path), the 405 check remembers its answer per path, the signal is left alone
  after a call, and the session lookup goes straight to the driver rather than through Prisma's raw-query pipeline.
- **PostgreSQL, c=100, at the start of the third pass**: node-postgres writing each click's session lookup 11%
  (\`writev\`: on loopback a socket write also runs the kernel's delivery and wakes a PostgreSQL process, on the
  same two cores), Prisma's query compiler and client 9% (the activity batch's \`createMany\`), undici 10%, GC 7%,
  React Router 5%. Both were removed: lookups made in the same turn of the event loop share one statement
  (\`dataloader\`, no cache, so a deleted session still stops working at once, ADR 018), and the activity batch is
  one driver statement (ADR 017's update). Measured in alternating runs: form door c=100 from 1,082-1,344 to
  1,790-1,988 requests/s, the no-customer path from 2,031-2,585 to 4,831-4,904.
- **PostgreSQL, c=100, now**: idle 17%; undici (the provider call, as in the peer) 14%; GC 10%; React Router 7%; the
  response's own writes 5% (\`writeLatin1String\`); microtasks 4%; the app's own code 4%; web streams 3%; socket
  writes 4% (2% the provider request, 2% node-postgres); Prisma under 1%. **What separates the app from the peer**
  is what the peer does not do: a PostgreSQL round trip per turn of the event loop, React Router's middleware and
  the session cookie's check, the security headers and the access log. The signed-in 404 path is the same work
  against a framework floor that does nothing at all.
- **Embedded database, c=100, before the move** (PGlite on the app's thread): idle 37%; PGlite's WebAssembly 12%
  and its JavaScript layer 9%, Prisma 4%, undici 6%. The click already made one PGlite statement instead of two,
  and no commit (the activity's commits are batched).
- **Embedded database, c=100, now** (PGlite in a thread of its own, reached over the wire protocol, ADR 015): the
  app's thread is idle 35%, GC 13% (the embedded mode's 2 MB young generation, ADR 019), undici 7%, socket writes
  5%, React Router 4%, WebAssembly 4% (undici's parser and Prisma's query compiler; none of it PGlite's), Prisma 2%,
  node-postgres 1%. PGlite's thread is idle 56%: its WebAssembly 32%, its JavaScript 3%. Neither thread is
  saturated; the two cores are shared with the load generator and the emulator. A one-second statement no longer
  holds the app's timers (\`app/db/database.test.ts\`).
- **300 ms provider latency, c=200**: 200 clients over 0.3 s ask for about 670 requests/s. The emulator alone,
  loaded straight from the load generator, already adds the "reference" row's p99 over its 300 ms (its timers and
  its CPU on the shared cores), so the 30 ms target is below what this machine can show for any server in front
  of it; the peer adds more than the app. The bulkhead (256 calls in flight per provider) and undici's keep-alive
  mean no call waits for a connection or a slot at c=200.
- **Open: multi-second stalls at c=100.** Now and then a point's maximum is 1.5-5 s: for the peer as for the app,
  on PostgreSQL and embedded, on the doors that call the provider and (embedded) on the no-customer door, most
  often in the first seconds after a server starts, and also with autocannon run as its own process. When they
  hit the embedded form door they take its p99 over 500 ms. In the intervals examined neither the server's nor the
  emulator's main thread was busy for more than about 30 ms (CPU profiles: no gap between samples above 30 ms), so
  the requests were waiting, not being worked on. The kernel's loopback retransmissions (\`nstat\`) are all tail
  loss probes, with no drops (\`/proc/net/softnet_stat\`) and no listen overflows, so it is not lost packets
  either. Still to check: waits on a lock or a timer inside the process (Prisma's transaction timeouts of 2 and 5 s
  are of the same size; PGlite's query mutex is ruled out for the peer, which has no database). The cause is not
  found.
- **Memory.** The app on PostgreSQL idles near 200 MiB, and so does the framework floor, which loads the same
  runtime and does nothing; under load both grow to several hundred MiB (the "Memory" table's last column): V8
  grows the heap before it collects (the live heap after a full collection stays near 100 MiB), which is where the
  RSS under load comes from. Capping the old generation holds it (measured: \`--max-old-space-size=256\` kept the
  app at 240 MiB under load) but costs about a quarter of the throughput, so it is an operator's choice
  (docs/deployment.md, "Memory"), not a default. The embedded mode adds PGlite, in a thread of its own whose V8 heap and malloc arena cost about 30 MiB
  (ADR 015), taken back by: 8 MB of shared buffers instead of 128, a new data folder made in a child process so
  initdb's gigabyte of WebAssembly memory never lives in the server, WebAssembly on V8's baseline compiler only,
  because optimising PGlite's largest functions made a start-up peak near 800 MiB for no measurable speed, a 2 MB
  young generation, and two malloc arenas (ADR 019: the embedded mode is the small-footprint mode).
`;

function notes(servers: ServerRecord[]): string {
  const lines = servers.flatMap((s) => s.notes.map((note) => `- ${s.server}: ${note}`));
  return lines.length ? `\n## Notes\n\n${lines.join("\n")}\n` : "";
}

// ---- the chart: hand-drawn SVG, two log-log panels ----

const COLORS = ["#6b7280", "#0891b2", "#7c3aed", "#dc2626", "#f97316", "#2563eb", "#16a34a", "#a16207"];

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * 10 ** exponent;
      if (value >= min && value <= max) ticks.push(value);
    }
  }
  return ticks;
}

function tickLabel(value: number): string {
  if (value >= 1000) return `${value / 1000}k`;
  return value < 1 ? value.toString() : String(value);
}

export function renderSvg(results: Results): string {
  const width = 1000;
  const panelWidth = 400;
  const panelHeight = 280;
  const top = 56;
  const left = [70, 570];
  const targets = results.targets.map((t) => t.target);
  const legendRows = Math.ceil((targets.length + 1) / 3);
  const height = top + panelHeight + 66 + legendRows * 20;
  const concurrencies = [...new Set(results.points.map((p) => p.concurrency))].toSorted((a, b) => a - b);
  const xMin = Math.min(...concurrencies);
  const xMax = Math.max(...concurrencies);
  const x = (panel: number, c: number) =>
    left[panel]! + (xMax === xMin ? panelWidth / 2 : ((Math.log10(c) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * panelWidth);

  const panels = [
    { title: "Requests per second (log)", value: (p: Point) => p.requestsPerSecond },
    { title: "p99 latency, ms (log)", value: (p: Point) => p.latencyMs.p99 },
  ];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left[0]}" y="18" fill="#374151">${escapeXml(
      `${results.meta.label ? `${results.meta.label}. ` : ""}${results.meta.date.slice(0, 10)}, ${results.meta.cores} cores, Node ${results.meta.node}`,
    )}</text>`,
  ];
  panels.forEach((panel, index) => {
    const values = results.points.map(panel.value).filter((v) => Number.isFinite(v) && v > 0);
    const yMin = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
    const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));
    const y = (v: number) => top + panelHeight - ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * panelHeight;
    const x0 = left[index]!;
    parts.push(`<text x="${x0}" y="${top - 14}" font-weight="600">${escapeXml(panel.title)}</text>`);
    parts.push(`<rect x="${x0}" y="${top}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#9ca3af"/>`);
    for (const tick of logTicks(yMin, yMax)) {
      parts.push(`<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e7eb"/>`);
      parts.push(`<text x="${x0 - 6}" y="${y(tick) + 4}" text-anchor="end" fill="#374151">${tickLabel(tick)}</text>`);
    }
    for (const c of concurrencies) {
      parts.push(`<line x1="${x(index, c)}" x2="${x(index, c)}" y1="${top}" y2="${top + panelHeight}" stroke="#f3f4f6"/>`);
      parts.push(`<text x="${x(index, c)}" y="${top + panelHeight + 16}" text-anchor="middle" fill="#374151">${c}</text>`);
    }
    parts.push(`<text x="${x0 + panelWidth / 2}" y="${top + panelHeight + 34}" text-anchor="middle" fill="#374151">concurrent clients</text>`);
    targets.forEach((target, t) => {
      const color = COLORS[t % COLORS.length]!;
      const line = results.points
        .filter((p) => p.target === target && p.providerDelayMs === 0 && Number.isFinite(panel.value(p)))
        .toSorted((a, b) => a.concurrency - b.concurrency);
      if (line.length > 1) {
        const d = line.map((p, i) => `${i === 0 ? "M" : "L"}${x(index, p.concurrency).toFixed(1)},${y(panel.value(p)).toFixed(1)}`).join(" ");
        parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
      }
      for (const p of line) parts.push(`<circle cx="${x(index, p.concurrency).toFixed(1)}" cy="${y(panel.value(p)).toFixed(1)}" r="3.5" fill="${color}"/>`);
      for (const p of results.points.filter((q) => q.target === target && q.providerDelayMs > 0)) {
        const cx = x(index, p.concurrency);
        const cy = y(panel.value(p));
        parts.push(
          `<path d="M${cx},${cy - 6} L${cx + 6},${cy} L${cx},${cy + 6} L${cx - 6},${cy} Z" fill="#ffffff" stroke="${color}" stroke-width="2"/>`,
        );
      }
    });
  });
  const legendTop = top + panelHeight + 56;
  const entries = [
    ...targets.map((target, t) => ({ text: target, marker: `<circle r="4" fill="${COLORS[t % COLORS.length]}"/>` })),
    {
      text: `hollow diamond: provider +${results.meta.providerDelay.ms} ms`,
      marker: `<path d="M0,-6 L6,0 L0,6 L-6,0 Z" fill="#ffffff" stroke="#374151" stroke-width="2"/>`,
    },
  ];
  entries.forEach((entry, i) => {
    const ex = left[0]! + (i % 3) * 300;
    const ey = legendTop + Math.floor(i / 3) * 20;
    parts.push(`<g transform="translate(${ex},${ey})">${entry.marker}<text x="12" y="4" fill="#111827">${escapeXml(entry.text)}</text></g>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
