import { afterAll, beforeAll, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { createWebhookService } from "~/billing/webhooks.server.ts";
import type { Database } from "~/db/database.server.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { createTestDatabase } from "./database.ts";
import { sign, subscriptionEvent, webhookRequest } from "./webhook-events.ts";

// SPEC "Entitlements": past_due grants the plan for BILLING_PAST_DUE_GRACE_DAYS after it *became* past due. The
// apply path stores that moment (the provider time of the transition) and keeps it while the subscription stays
// past due, so later events of the same dunning do not restart the grace.

const SECRET = "whsec_pastDueSinceTestSecret";
const APP = "http://app.test";
let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(() => database.close());

test("past due since the transition: kept through later past-due events, cleared when it recovers, set anew next time", async () => {
  const webhooks = createWebhookService({ prisma: database.prisma, secrets: { stripe: SECRET }, plans: { stripe: DEMO_PLAN_PROVIDER_IDS.stripe, polar: {}, lemonsqueezy: {} } });
  const userId = (await database.prisma.user.create({ data: { email: "pastdue-since@example.test" } })).id;
  const t0 = Date.UTC(2027, 0, 5, 10) / 1000;
  const deliver = async (status: string, atSeconds: number) => {
    const event = subscriptionEvent("stripe", {
      userId,
      customerId: "cus_PastDueSince",
      subscriptionId: "sub_PastDueSince",
      status,
      planId: DEMO_PLAN_PROVIDER_IDS.stripe.pro,
      periodEnd: new Date((t0 + 30 * 86_400) * 1000),
      at: new Date(atSeconds * 1000),
    });
    const response = await webhooks.handle("stripe", webhookRequest(`${APP}/webhooks/stripe`, sign("stripe", event, SECRET)));
    expect(response.status).toBe(200);
  };
  const since = async () => (await database.prisma.subscription.findFirstOrThrow({ where: { organizationId: personalOrganizationId(userId) } })).pastDueSince?.toISOString() ?? null;

  await deliver("active", t0);
  expect(await since()).toBeNull();
  await deliver("past_due", t0 + 60);
  expect(await since()).toBe(new Date((t0 + 60) * 1000).toISOString());
  // A retry failed again two days later: still past due since the first failure.
  await deliver("past_due", t0 + 2 * 86_400);
  expect(await since()).toBe(new Date((t0 + 60) * 1000).toISOString());
  await deliver("active", t0 + 3 * 86_400);
  expect(await since()).toBeNull();
  await deliver("past_due", t0 + 33 * 86_400);
  expect(await since()).toBe(new Date((t0 + 33 * 86_400) * 1000).toISOString());
});
