import { afterAll, expect, test } from "vitest";
import { measurePoint } from "../bench/http/load.ts";
import { stopAll } from "../bench/http/processes.ts";
import { computeRatios, evaluateGoals, renderMarkdown, renderSvg, type Results } from "../bench/http/report.ts";
import { startFloor } from "../bench/http/targets.ts";

// A smoke run of `npm run bench`'s harness at tiny size: one target, one second, two clients.
afterAll(() => stopAll());

test("a one-second run of the floor yields a complete, positive record, and the report shows it", { timeout: 30_000 }, async () => {
  const floor = await startFloor();
  const point = await measurePoint({
    target: "floor",
    origin: floor.origin,
    door: floor.doors[0]!.door,
    concurrency: 2,
    seconds: 1,
    warmupSeconds: 0.2,
    serverPid: floor.pid,
  });
  await floor.stop();

  expect(point).toMatchObject({ target: "floor", concurrency: 2, providerDelayMs: 0, errors: 0, unexpected: 0, emulatorCpuMsPerRequest: null });
  expect(point.statusCounts).toEqual({ 303: point.requests });
  expect(point.seconds).toBeGreaterThan(0.5);
  for (const value of [point.requests, point.requestsPerSecond, point.serverCpuMsPerRequest, point.serverRssMiB, ...Object.values(point.latencyMs)]) {
    expect(value).toBeGreaterThan(0);
    expect(Number.isFinite(value)).toBe(true);
  }
  expect(point.latencyMs.p50).toBeLessThanOrEqual(point.latencyMs.p99);
  expect(point.latencyMs.p99).toBeLessThanOrEqual(point.latencyMs.max);
  expect(floor.record.idleRssMiB).toBeGreaterThan(0);
  expect(floor.record.peakRssMiB).toBeGreaterThanOrEqual(floor.record.idleRssMiB);

  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cores: 2,
      cpuModel: "test",
      platform: "test",
      loadAverageAtStart: [0, 0, 0],
      secondsPerPoint: 1,
      warmupSeconds: 0.2,
      concurrencies: [2],
      providerDelay: { ms: 300, concurrency: 200 },
      label: "Smoke run",
      postgres: false,
      elapsedSeconds: 1,
    },
    targets: [{ target: "floor", label: floor.doors[0]!.label }],
    servers: [floor.record],
    points: [point],
    ratios: computeRatios([point]),
    goals: evaluateGoals([point], [floor.record]),
  };
  const markdown = renderMarkdown(results, "chart.svg");
  expect(markdown).toContain("**Smoke run.**");
  expect(markdown).toContain(`| floor | 2 | ${Math.round(point.requestsPerSecond).toLocaleString("en-US")} |`);
  expect(markdown).toContain("![Requests per second and p99 latency against concurrency, per target](chart.svg)");
  const svg = renderSvg(results);
  expect(svg).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  expect(svg).toContain("<circle");
  expect(svg).not.toContain("NaN");
});
