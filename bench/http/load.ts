import autocannon from "autocannon";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuMs, memoryMiB } from "./processes.ts";

/** One kind of request a target is measured on, and the answer that counts as served. */
export type Door = {
  path: string;
  headers?: Record<string, string>;
  body?: string;
  expectStatus: number;
  /** The Location the answer must carry (a prefix), so a failure page that also redirects is not counted as served. */
  expectLocation: string;
};

export type Point = {
  target: string;
  concurrency: number;
  /** Delay the emulator adds to every provider call during this point (0: none). */
  providerDelayMs: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Connection errors and timeouts. */
  errors: number;
  /** Answers other than the expected status and Location (4xx, 5xx, a redirect elsewhere). */
  unexpected: number;
  statusCounts: Record<string, number>;
  serverCpuMsPerRequest: number;
  /** The emulator's CPU per request, for targets that call the provider (null otherwise). */
  emulatorCpuMsPerRequest: number | null;
  /** Highest resident memory seen while the load ran. */
  serverRssMiB: number;
};

export type LoadOptions = {
  target: string;
  origin: string;
  door: Door;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  serverPid: number;
  emulatorPid?: number;
  providerDelayMs?: number;
};

type Raw = { latencies: number[]; statusCounts: Record<string, number>; errors: number; unexpected: number; elapsedMs: number };

/**
 * One continuous load: the first `warmupSeconds` are not counted, the next `seconds` are. Warm-up and
 * measurement share the connections, so no backlog from a stopped warm-up spills into the measurement.
 */
function fire(options: LoadOptions, onMeasureStart: () => void): Promise<Raw> {
  const { door, origin, concurrency } = options;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let unexpected = 0;
  let measuring = options.warmupSeconds <= 0;
  let measureStartedAt = performance.now();
  if (measuring) onMeasureStart();
  const warmup = measuring
    ? undefined
    : setTimeout(() => {
        measuring = true;
        measureStartedAt = performance.now();
        onMeasureStart();
      }, options.warmupSeconds * 1000);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: origin,
        connections: concurrency,
        duration: options.warmupSeconds + options.seconds,
        // Long enough for the delayed-provider run's queue; a timeout counts as an error.
        timeout: 30,
        requests: [
          {
            method: "POST",
            path: door.path,
            headers: { "content-type": "application/x-www-form-urlencoded", ...door.headers },
            body: door.body ?? "",
            onResponse: (status, _body, _context, headers) => {
              const location = headers.location ?? headers.Location ?? "";
              if (measuring && (status !== door.expectStatus || !location.startsWith(door.expectLocation))) unexpected += 1;
            },
          },
        ],
      },
      (error) => {
        clearTimeout(warmup);
        if (error) return reject(error);
        resolve({ latencies, statusCounts, errors, unexpected, elapsedMs: performance.now() - measureStartedAt });
      },
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      if (!measuring) return;
      latencies.push(responseTime);
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    });
    // Connection errors and timeouts (autocannon reports a timeout as a request error too).
    instance.on("reqError", () => {
      if (measuring) errors += 1;
    });
  });
}

/** Waits until the server has finished what an earlier point left in flight (its CPU goes quiet), at most `maxMs`. */
async function waitForQuiet(pid: number, maxMs = 5000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let before = cpuMs(pid);
  while (Date.now() < deadline) {
    await sleep(250);
    const now = cpuMs(pid);
    // Under 10% of a core over the last quarter second.
    if (now - before < 25) return;
    before = now;
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Measures one concurrency after a warm-up: throughput, latency, errors, the server's CPU and memory. */
export async function measurePoint(options: LoadOptions): Promise<Point> {
  await waitForQuiet(options.serverPid);
  let rssMax = memoryMiB(options.serverPid).rss;
  const sampler = setInterval(() => {
    try {
      rssMax = Math.max(rssMax, memoryMiB(options.serverPid).rss);
    } catch {
      // The server died: the run reports its errors.
    }
  }, 100);
  let serverCpuBefore = Number.NaN;
  let emulatorCpuBefore = Number.NaN;
  let raw: Raw;
  try {
    raw = await fire(options, () => {
      serverCpuBefore = cpuMs(options.serverPid);
      emulatorCpuBefore = options.emulatorPid === undefined ? Number.NaN : cpuMs(options.emulatorPid);
    });
  } finally {
    clearInterval(sampler);
  }
  const serverCpu = cpuMs(options.serverPid) - serverCpuBefore;
  const emulatorCpu = options.emulatorPid === undefined ? null : cpuMs(options.emulatorPid) - emulatorCpuBefore;

  const sorted = Float64Array.from(raw.latencies).toSorted();
  const requests = sorted.length;
  const perRequest = (ms: number) => (requests === 0 ? Number.NaN : ms / requests);
  return {
    target: options.target,
    concurrency: options.concurrency,
    providerDelayMs: options.providerDelayMs ?? 0,
    seconds: raw.elapsedMs / 1000,
    requests,
    requestsPerSecond: requests / (raw.elapsedMs / 1000),
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? Number.NaN,
      mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, requests),
    },
    errors: raw.errors,
    unexpected: raw.unexpected,
    statusCounts: raw.statusCounts,
    serverCpuMsPerRequest: perRequest(serverCpu),
    emulatorCpuMsPerRequest: emulatorCpu === null ? null : perRequest(emulatorCpu),
    serverRssMiB: rssMax,
  };
}

/** One request, outside the measurement: checks a door answers as expected before it is measured. */
export async function probe(origin: string, door: Door): Promise<{ ok: boolean; status: number; location: string | null }> {
  const response = await fetch(new URL(door.path, origin), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...door.headers },
    body: door.body ?? "",
  });
  await response.arrayBuffer();
  const location = response.headers.get("location");
  return { ok: response.status === door.expectStatus && (location ?? "").startsWith(door.expectLocation), status: response.status, location };
}
