import { performance } from "node:perf_hooks";
import { PROVIDER_IDS, type BillingProvider, type ProviderId } from "~/billing/providers/provider.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { createReconciler } from "~/billing/sync/reconciler.server.ts";
import { createBillingSync } from "~/billing/sync/sync.server.ts";
import { configuredPlans } from "~/billing/sync/sync-providers.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { useLogger, createLogger } from "~/observability/log.server.ts";
import { addCustomer } from "../emulator/customers.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { findPlan } from "../emulator/plans.ts";
import { startProviderEmulator } from "../emulator/provider-emulator.ts";
import { MONTH_MS } from "../emulator/subscriptions.ts";
import { createTestDatabase } from "../tests/database.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// `npx tsx bench/sync.bench.ts` (not part of `npm run bench`): issue 16's targets.
//   1. `billing:sync --all` over 1,000 customers (a third at each provider, one subscription each, all unknown
//      to our database) against the emulator, no call budget: under 60 s.
//   2. The reconciler with the default budget (30 calls a minute) over the same customers never makes more
//      calls in any 60 s window than its budget. Its clock is simulated (a real run would take 34 minutes):
//      the budget's waits advance it, and each provider call is stamped with it.
// On the embedded database by default; TEST_DATABASE_URL=postgres://… runs it on a fresh server database.

const CUSTOMERS = Number(process.env.SYNC_BENCH_CUSTOMERS ?? 1000);
const BUDGET = 30;
useLogger(createLogger({ level: "warn" }));

const emulator = await startProviderEmulator({ appReturnUrl: "http://bench.test/account" });
const undoRouting = routeLemonSqueezyApiTo(emulator.origin);
const database = await createTestDatabase();
const config = parseConfig({ APP_ENV: "test", PAYMENT_EMULATOR: "1" });
const plans = configuredPlans(config);

try {
  const now = Date.now();
  const users: { id: string; email: string }[] = [];
  const customers: { organizationId: string; provider: ProviderId; providerCustomerId: string }[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const provider = PROVIDER_IDS[i % PROVIDER_IDS.length]!;
    const email = `bench-${i}@example.test`;
    const id = provider === "stripe" ? `cus_Bench${i}` : provider === "polar" ? `9e4c7a52-0000-4000-8000-${String(i).padStart(12, "0")}` : String(3_000_000 + i);
    const customer = { provider, id, name: `Bench ${i}`, email, portal: "ready" as const };
    addCustomer(customer);
    emulator.lifecycle.subscriptions.add({
      provider,
      id: provider === "stripe" ? `sub_Bench${i}` : provider === "polar" ? `ae4c7a52-0000-4000-8000-${String(i).padStart(12, "0")}` : String(4_000_000 + i),
      customer,
      metadata: {},
      plan: findPlan(i % 2 ? "pro" : "starter")!,
      status: "active",
      cancelAtPeriodEnd: false,
      createdAt: now,
      currentPeriodStart: now,
      currentPeriodEnd: now + MONTH_MS,
      canceledAt: null,
      updatedAt: now,
      card: { brand: "visa", lastFour: "4242" },
      checkoutId: null,
      orderId: null,
      itemId: provider === "lemonsqueezy" ? String(5_000_000 + i) : `si_Bench${i}`,
    });
    users.push({ id: `bench-user-${i}`, email });
    customers.push({ organizationId: personalOrganizationId(`bench-user-${i}`), provider, providerCustomerId: id });
  }
  await database.prisma.user.createMany({ data: users });
  await database.prisma.customer.createMany({ data: customers });

  const providers = (wrap: (provider: BillingProvider) => BillingProvider = (provider) => provider) =>
    Object.fromEntries(PROVIDER_IDS.map((id) => [id, wrap(createBillingProvider({ ...config.billing, emulatorOrigin: emulator.origin }, id))]));

  const started = performance.now();
  const report = await createBillingSync({ prisma: database.prisma, providers: providers(), plans }).run({ all: true });
  const seconds = (performance.now() - started) / 1000;
  const applied = await database.prisma.subscription.count();
  console.log(
    `billing:sync --all: ${report.customers} customers, ${report.differences.length} differences, ${report.errors.length} errors, ` +
      `${applied} subscriptions stored, in ${seconds.toFixed(1)} s (${((seconds * 1000) / report.customers).toFixed(1)} ms per customer) — target under 60 s: ${seconds < 60 ? "met" : "MISSED"}`,
  );

  // The reconciler on a simulated clock, with the default budget.
  let clock = 0;
  const stamps: number[] = [];
  const reconciler = createReconciler({
    prisma: database.prisma,
    providers: providers((provider) => ({
      ...provider,
      listSubscriptionPage: (query) => {
        stamps.push(clock);
        return provider.listSubscriptionPage!(query);
      },
    })),
    plans,
    callsPerMinute: BUDGET,
    runLimitMs: 24 * 60 * 60_000,
    now: () => clock,
    wait: async (ms) => void (clock += ms),
  });
  const result = await reconciler.reconcileOnce();
  let worst = 0;
  for (let i = 0, j = 0; i < stamps.length; i++) {
    while (stamps[i]! - stamps[j]! >= 60_000) j++;
    worst = Math.max(worst, i - j + 1);
  }
  console.log(
    `reconciler, budget ${BUDGET}/min: ${stamps.length} calls over ${(clock / 60_000).toFixed(1)} simulated minutes, ` +
      `at most ${worst} in any 60 s window — target at most ${BUDGET}: ${worst <= BUDGET ? "met" : "MISSED"} (${JSON.stringify(result)})`,
  );
  if (seconds >= 60 || worst > BUDGET) process.exitCode = 1;
} finally {
  undoRouting();
  await emulator.close();
  await database.close();
}
