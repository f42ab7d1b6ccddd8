import * as fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import type { BillingProvider, SubscriptionPage } from "~/billing/providers/provider.ts";
import { createBillingSync } from "~/billing/sync/sync.server.ts";
import { createWebhookService } from "~/billing/webhooks.server.ts";
import type { Database } from "~/db/database.server.ts";
import { createTestDatabase } from "./database.ts";
import { sign, subscriptionEvent, webhookRequest } from "./webhook-events.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// Issue 16's property, on a real database (embedded, or TEST_DATABASE_URL): any interleaving of webhook
// deliveries, redeliveries, out-of-order and same-second events, and sync runs ends with the provider's
// state and exactly one row per subscription. Runs are bounded to keep `npm test` fast.

const SECRET = "whsec_propertyTestSecret";
const PLANS = { stripe: DEMO_PLAN_PROVIDER_IDS.stripe, polar: {}, lemonsqueezy: {} };
const SUBSCRIPTIONS = ["sub_PropA", "sub_PropB"] as const;
const STATUSES = ["active", "past_due", "canceled", "trialing", "unpaid"] as const;

let database: Database;
let userId: string;
beforeAll(async () => {
  database = await createTestDatabase();
  userId = (await database.prisma.user.create({ data: { email: "property@example.test" } })).id;
}, 60_000);
afterAll(() => database.close());

type State = { status: (typeof STATUSES)[number]; plan: "starter" | "pro"; cancel: boolean };

const stateArb = fc.record({ status: fc.constantFrom(...STATUSES), plan: fc.constantFrom("starter" as const, "pro" as const), cancel: fc.boolean() });
/** A change to one subscription, `gap` seconds after the previous one (0: the same second). */
const changeArb = fc.record({ subscription: fc.constantFrom(0 as const, 1 as const), state: stateArb, gap: fc.constantFrom(0 as const, 1 as const, 2 as const) });
const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sync" as const), gap: fc.constantFrom(0 as const, 1 as const) }) },
);

test("deliveries in any order, redeliveries, same-second events and sync runs end with the provider's state, one row each", async () => {
  const webhooks = createWebhookService({ prisma: database.prisma, secrets: { stripe: SECRET }, plans: PLANS });
  const periodEnd = new Date("2027-01-05T10:00:00Z");

  await fc.assert(
    fc.asyncProperty(fc.array(changeArb, { minLength: 1, maxLength: 6 }), fc.array(stepArb, { maxLength: 12 }), async (changes, steps) => {
      await database.prisma.webhookEvent.deleteMany();
      await database.prisma.subscription.deleteMany();
      await database.prisma.customer.deleteMany();
      await database.prisma.customer.create({ data: { organizationId: personalOrganizationId(userId), provider: "stripe", providerCustomerId: "cus_Prop" } });

      // The provider: each change at a time (seconds, in the past), each with its event.
      const base = Math.floor(Date.now() / 1000) - 3600;
      let clock = base;
      const provider: (State | null)[] = [null, null];
      const events = changes.map((change) => {
        clock += change.gap;
        const facts = {
          userId: null,
          customerId: "cus_Prop",
          subscriptionId: SUBSCRIPTIONS[change.subscription],
          status: change.state.status,
          planId: DEMO_PLAN_PROVIDER_IDS.stripe[change.state.plan]!,
          periodEnd,
          cancelAtPeriodEnd: change.state.cancel,
          at: new Date(clock * 1000),
        };
        return { change, at: clock, event: subscriptionEvent("stripe", facts) };
      });

      // Changes happen in order; a step may deliver any event already sent (again, or before an older one),
      // or run a sync that reads the provider as it is at that moment.
      let happened = 0;
      let now = base;
      const sync = (observedAt: number) => {
        const fake: Partial<BillingProvider> = {
          id: "stripe",
          listSubscriptionPage: async (): Promise<SubscriptionPage> => ({
            next: null,
            items: provider.flatMap((state, index) =>
              state
                ? [
                    {
                      kind: "subscription-upserted" as const,
                      organizationId: null,
                      providerCustomerId: "cus_Prop",
                      occurredAt: new Date(observedAt * 1000),
                      subscription: {
                        providerSubscriptionId: SUBSCRIPTIONS[index]!,
                        providerPlanId: DEMO_PLAN_PROVIDER_IDS.stripe[state.plan]!,
                        status: state.status,
                        currentPeriodEnd: periodEnd,
                        cancelAtPeriodEnd: state.cancel,
                      },
                    },
                  ]
                : [],
            ),
          }),
        };
        return createBillingSync({ prisma: database.prisma, providers: { stripe: fake as BillingProvider }, plans: PLANS }).run({ all: true });
      };
      const deliver = async (index: number) => {
        const response = await webhooks.handle("stripe", webhookRequest("http://app.test/webhooks/stripe", sign("stripe", events[index]!.event, SECRET)));
        expect(response.status).toBe(200);
      };
      const advance = () => {
        const next = events[happened]!;
        provider[next.change.subscription] = next.change.state;
        now = Math.max(now, next.at);
        happened += 1;
      };

      const syncErrors: unknown[] = [];
      for (const step of steps) {
        if (happened < events.length && (step.kind === "sync" || step.pick % 3 === 0)) advance();
        if (step.kind === "deliver" && happened > 0) await deliver(step.pick % happened);
        if (step.kind === "sync") {
          now += step.gap;
          syncErrors.push(...(await sync(now)).errors);
        }
      }
      while (happened < events.length) advance();
      // Every event is delivered at least once, newest last or not, then a sync a second after the last change.
      for (let index = events.length - 1; index >= 0; index--) await deliver(index);
      now += 1;
      await sync(now);

      expect(syncErrors).toEqual([]);
      const rows = await database.prisma.subscription.findMany({ orderBy: { providerSubscriptionId: "asc" } });
      const expected = SUBSCRIPTIONS.flatMap((id, index) => {
        const state = provider[index];
        return state ? [{ id, status: state.status, plan: state.plan, cancel: state.cancel }] : [];
      });
      expect(rows.map((row) => ({ id: row.providerSubscriptionId, status: row.status, plan: row.plan, cancel: row.cancelAtPeriodEnd }))).toEqual(expected);
      expect(new Set(rows.map((row) => row.providerSubscriptionId)).size).toBe(rows.length);
      expect(rows.every((row) => row.organizationId === personalOrganizationId(userId))).toBe(true);
    }),
    { numRuns: 15 },
  );
}, 60_000);
