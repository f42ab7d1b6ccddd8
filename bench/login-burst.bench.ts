import { performance } from "node:perf_hooks";
import { createAuth, type Auth } from "~/auth/auth.server.ts";
import { createPasswordHashing, DEFAULT_HASHING_CAPACITY } from "~/auth/password-hashing.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { IN_MEMORY_DATA_DIR, openDatabase } from "~/db/database.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { startServices } from "~/start-services.server.ts";

// `npm run bench`: can a burst of logins starve an unrelated request? While BURST concurrent
// wrong-password logins run (scrypt at 64 MiB each), one signed-in user keeps opening the billing
// portal (session lookup, customer query, SDK call to the local emulator), one request after the
// other. Measured twice in one run: hashing unbounded (as before) and behind the bulkhead
// (DEFAULT_HASHING_CAPACITY). Goal: with the bulkhead the portal's worst time during the burst is
// under half of the unbounded one. Noisy on a shared 2-core machine: compare within one run.
const BURST = Number(process.env.BENCH_BURST ?? 20);
const APP = "http://bench.test";

const config = parseConfig({
  APP_ENV: "test",
  APP_URL: APP,
  PAYMENT_PROVIDER: "stripe",
  PAYMENT_EMULATOR: "1",
  // Limits would refuse the burst before any hashing, which is not what is measured here.
  RATE_LIMIT_LOGIN_FAILURES: "0",
  RATE_LIMIT_LOGIN_PER_ADDRESS: "0",
  RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0",
});
const database = await openDatabase({ kind: "embedded", dataDir: IN_MEMORY_DATA_DIR });
const services = await startServices(config, { database });

type Round = { portal: { p50: number; max: number; count: number }; logins: Record<number, number>; burstMs: number };

try {
  const stripeUser = DEMO_ACCOUNTS.find((account) => account.customer?.provider === "stripe")!;
  const signedIn = await services.auth.login(
    new Request(`${APP}/login`, { method: "POST", body: new URLSearchParams({ email: stripeUser.email, password: DEMO_PASSWORD }) }),
  );
  if (!signedIn.ok) throw new Error("the demo user could not sign in");
  const cookie = signedIn.headers.get("Set-Cookie")!.split(";")[0]!;

  async function openPortal(): Promise<number> {
    const start = performance.now();
    const response = await services.handlePortalRequest(
      new Request(`${APP}/api/payments/portal`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: cookie },
        body: '{"returnUrl":"/account"}',
      }),
      "json",
    );
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`portal answered ${response.status}`);
    return performance.now() - start;
  }

  function authWith(maxConcurrent: number, maxQueued: number): Auth {
    return createAuth({
      prisma: database.prisma,
      read: database.read,
      sessionSecrets: config.sessionSecrets,
      secureCookie: false,
      passwordHashing: createPasswordHashing({ maxConcurrent, maxQueued }),
    });
  }

  async function round(auth: Auth): Promise<Round> {
    const logins: Record<number, number> = {};
    const progress = { burstDone: false };
    const burstStart = performance.now();
    const burst = Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const body = new URLSearchParams({ email: `guess-${i}@bench.test`, password: "a-wrong-password" });
        const result = await auth.login(new Request(`${APP}/login`, { method: "POST", body }));
        const status = result.ok ? 302 : "refusal" in result ? result.refusal.status : 400;
        logins[status] = (logins[status] ?? 0) + 1;
      }),
    ).then(() => {
      progress.burstDone = true;
      return performance.now() - burstStart;
    });
    const samples: number[] = [];
    while (!progress.burstDone) samples.push(await openPortal());
    const burstMs = await burst;
    samples.sort((a, b) => a - b); // oxlint-disable-line unicorn/no-array-sort -- local array
    const p50 = samples[Math.floor(samples.length / 2)]!;
    return { portal: { p50, max: samples.at(-1)!, count: samples.length }, logins, burstMs };
  }

  for (let i = 0; i < 20; i++) await openPortal(); // warm-up
  const quiet: number[] = [];
  for (let i = 0; i < 20; i++) quiet.push(await openPortal());
  quiet.sort((a, b) => a - b); // oxlint-disable-line unicorn/no-array-sort -- local array

  const unbounded = await round(authWith(BURST, 0));
  const { maxConcurrent, maxQueued } = DEFAULT_HASHING_CAPACITY;
  const bounded = await round(authWith(maxConcurrent, maxQueued));
  // The same bound with room for the whole burst: what the concurrency limit alone does.
  const queuedAll = await round(authWith(maxConcurrent, BURST));

  const line = (name: string, r: Round) =>
    `  ${name.padEnd(34)} portal p50 ${r.portal.p50.toFixed(0).padStart(5)} ms, max ${r.portal.max.toFixed(0).padStart(5)} ms (${r.portal.count} requests); logins ${JSON.stringify(r.logins)} in ${r.burstMs.toFixed(0)} ms`;
  console.log(`login burst: ${BURST} concurrent wrong-password logins, one user opening the portal meanwhile`);
  console.log(`  quiet (no burst)                   portal p50 ${quiet[10]!.toFixed(0).padStart(5)} ms, max ${quiet.at(-1)!.toFixed(0).padStart(5)} ms`);
  console.log(line("unbounded hashing (before)", unbounded));
  console.log(line(`bulkhead ${maxConcurrent} running + ${maxQueued} queued`, bounded));
  console.log(line(`bulkhead ${maxConcurrent} running + ${BURST} queued`, queuedAll));
  const ratio = bounded.portal.max / unbounded.portal.max;
  console.log(`  worst portal time, bounded/unbounded ${ratio.toFixed(2)} (goal < 0.5)`);
  if (ratio >= 0.5) process.exitCode = 1;
} finally {
  await services.stop();
}
