import { performance } from "node:perf_hooks";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { BENCH_PROVIDER_CALLS_PER_MINUTE } from "./http/targets.ts";
import { parseConfig } from "~/config/env.server.ts";
import { IN_MEMORY_DATA_DIR, openDatabase } from "~/db/database.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createLemonSqueezyProvider } from "~/billing/providers/lemonsqueezy.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { startProviderEmulator } from "../emulator/provider-emulator.ts";

// `npm run bench`: what one "Manage billing" costs, end to end through the
// same handler the routes use (session lookup, customer query, SDK call over
// HTTP to the local emulator). Timings on a shared 2-core machine are noisy,
// so the goals are ratios measured in one run:
//   1. the provider adapters are cheap next to the app's own work: a full
//      portal request (SDK call over loopback included) costs less than 2.5x a
//      request that stops at "no customer" (session + customer lookup only).
//      Building an SDK client per request, or a retry on success, breaks it;
//   2. a cached Lemon Squeezy link is at least 10x faster than a fresh one.
const APP = "http://bench.test";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

type Stats = { name: string; mean: number; p50: number; p95: number; perSecond: number };

async function cookieFor(services: Services, email: string) {
  const body = new URLSearchParams({ email, password: DEMO_PASSWORD });
  const result = await services.auth.login(new Request(`${APP}/login`, { method: "POST", body }));
  if (!result.ok) throw new Error(`login failed for ${email}`);
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

function portalRequest(cookie: string) {
  return new Request(`${APP}/api/payments/portal`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie },
    body: '{"returnUrl":"/account"}',
  });
}

async function measure(name: string, run: () => Promise<Response>, expectStatus: number): Promise<Stats> {
  for (let i = 0; i < 20; i++) await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const response = await run();
    samples.push(performance.now() - start);
    if (response.status !== expectStatus) throw new Error(`${name}: got ${response.status}`);
    await response.arrayBuffer();
  }
  samples.sort((a, b) => a - b); // oxlint-disable-line unicorn/no-array-sort -- local array
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { name, mean, p50: at(0.5), p95: at(0.95), perSecond: 1000 / mean };
}

async function withServices<T>(provider: ProviderId, run: (services: Services) => Promise<T>): Promise<T> {
  // The provider-call limit is on, as it ships, with a quota no run reaches (10 per user per minute would refuse most rounds).
  const config = parseConfig({
    APP_ENV: "test",
    APP_URL: APP,
    PAYMENT_PROVIDER: provider,
    PAYMENT_EMULATOR: "1",
    RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: BENCH_PROVIDER_CALLS_PER_MINUTE,
  });
  const database = await openDatabase({ kind: "embedded", dataDir: IN_MEMORY_DATA_DIR });
  const services = await startServices(config, { database });
  try {
    return await run(services);
  } finally {
    await services.stop();
  }
}

const results: Stats[] = [];
for (const provider of ["stripe", "polar", "lemonsqueezy"] as const) {
  await withServices(provider, async (services) => {
    const email = DEMO_ACCOUNTS.find((a) => a.customer?.provider === provider)!.email;
    const cookie = await cookieFor(services, email);
    if (provider === "stripe") {
      const nobody = await cookieFor(services, "nobody@demo.test");
      results.push(await measure("app only (no customer, 404)", () => services.handlePortalRequest(portalRequest(nobody), "json"), 404));
    }
    results.push(await measure(`${provider}: portal URL`, () => services.handlePortalRequest(portalRequest(cookie), "json"), 200));
  });
}

// Lemon Squeezy's link cache, at the adapter: the same customer, with a clock that stays put (every
// call after the first is a hit) or jumps past the 12 h cache lifetime at each call (every call a miss).
{
  const emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account` });
  const customer = { providerCustomerId: DEMO_ACCOUNTS[2].customer.providerCustomerId };
  const returnUrl = `${APP}/account`;
  const undoRouting = routeLemonSqueezyApiTo(emulator.origin);
  let clock = 0;
  for (const [name, now] of [
    ["lemonsqueezy adapter: cache hit", () => 0],
    ["lemonsqueezy adapter: cache miss", () => (clock += 13 * 60 * 60 * 1000)],
  ] as const) {
    const provider = createLemonSqueezyProvider({ apiKey: "bench.key.x", now });
    results.push(await measure(name, async () => Response.json(await provider.createPortal(customer, { returnUrl })), 200));
  }
  undoRouting();
  await emulator.close();
}

console.table(
  results.map((r) => ({
    scenario: r.name,
    "mean ms": r.mean.toFixed(2),
    "p50 ms": r.p50.toFixed(2),
    "p95 ms": r.p95.toFixed(2),
    "req/s": r.perSecond.toFixed(0),
  })),
);

const app = results[0]!;
const lemonHit = results.find((r) => r.name.endsWith("cache hit"))!;
const lemonMiss = results.find((r) => r.name.endsWith("cache miss"))!;
const slowestPortal = results.filter((r) => r.name.endsWith(": portal URL")).toSorted((a, b) => b.mean - a.mean)[0]!;
const goals = [
  { goal: `slowest portal request (${slowestPortal.name}) < 2.5x the app-only request`, ratio: slowestPortal.mean / app.mean, ok: slowestPortal.mean / app.mean < 2.5 },
  { goal: "Lemon Squeezy cache hit >= 10x faster than a miss", ratio: lemonMiss.mean / lemonHit.mean, ok: lemonMiss.mean / lemonHit.mean >= 10 },
];
for (const g of goals) console.log(`${g.ok ? "met " : "MISSED"}  ${g.goal}: ${g.ratio.toFixed(2)}`);
process.exitCode = goals.every((g) => g.ok) ? 0 : 1;
