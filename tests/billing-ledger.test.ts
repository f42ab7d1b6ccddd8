import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { parseEventsArguments, parseReplayArguments, runReplayCommand } from "~/billing/ledger/ledger-command.server.ts";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";
import { sign, subscriptionEvent, webhookRequest, type SubscriptionFacts } from "./webhook-events.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// SPEC "Keeping billing state true": the ledger keeps each verified payload for the retention period;
// billing:events lists, billing:replay applies again with the live path's order-safety and idempotency.

const APP = "http://app.test";
const SECRETS = { stripe: "whsec_ledgerTestSecret", polar: "polar-ledger-test-secret", lemonsqueezy: "lemon-ledger-secret" } as const;

let services: Services;
beforeAll(async () => {
  services = await startServices(
    parseConfig({
      APP_ENV: "test",
      APP_URL: APP,
      PAYMENT_EMULATOR: "1",
      BILLING_RECONCILE_INTERVAL_MINUTES: "0",
      STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
      POLAR_WEBHOOK_SECRET: SECRETS.polar,
      LEMONSQUEEZY_WEBHOOK_SECRET: SECRETS.lemonsqueezy,
    }),
    { database: await createTestDatabase() },
  );
}, 60_000);
afterAll(() => services.stop());
// Tests read the ledger as a whole (a provider's first event, every unlinked or failed one, `replay --unlinked`):
// each starts from an empty one, not from the events an earlier test left (a pruned payload, a stale unlinked one).
beforeEach(async () => {
  await services.database.prisma.webhookEvent.deleteMany();
});

const prisma = () => services.database.prisma;
let n = 0;
function facts(provider: ProviderId, userId: string, at = new Date(Date.now() - 60_000)): SubscriptionFacts {
  n += 1;
  return {
    userId,
    customerId: provider === "stripe" ? `cus_Ledger${n}` : provider === "polar" ? `7e4c7a52-0000-4000-8000-${String(n).padStart(12, "0")}` : String(990_000 + n),
    subscriptionId: `${provider}-ledger-${n}`,
    status: "active",
    planId: DEMO_PLAN_PROVIDER_IDS[provider].pro,
    periodEnd: new Date("2027-01-15T00:00:00Z"),
    at,
  };
}
async function deliver(provider: ProviderId, state: SubscriptionFacts) {
  const response = await services.handleWebhook(provider, webhookRequest(`${APP}/webhooks/${provider}`, sign(provider, subscriptionEvent(provider, state), SECRETS[provider])));
  return (await response.json()) as { outcome: string };
}
const eventsOf = (provider: ProviderId) => prisma().webhookEvent.findMany({ where: { provider }, orderBy: { receivedAt: "asc" } });

test.each(PROVIDER_IDS)("%s: an event for a user who signs up later is kept unlinked, replayed once, and not twice", async (provider) => {
  const userId = `user-later-${provider}`;
  const state = facts(provider, userId);
  expect((await deliver(provider, state)).outcome).toBe("unlinked");
  const [stored] = await eventsOf(provider);
  expect(stored?.payload).not.toBeNull();
  expect((await services.ledger.list({ outcome: "unlinked" })).some((entry) => entry.eventId === stored!.eventId)).toBe(true);

  await prisma().user.create({ data: { id: userId, email: `later-${provider}@example.test` } });
  const first = await runReplayCommand(services.ledger, { unlinked: true });
  expect(first.exitCode).toBe(0);
  expect(first.lines.at(-1)).toMatch(/1 applied/);
  const row = await prisma().subscription.findUniqueOrThrow({ where: { provider_providerSubscriptionId: { provider, providerSubscriptionId: state.subscriptionId } } });
  expect(row.organizationId).toBe(personalOrganizationId(userId));
  const activity = await prisma().billingActivity.count({ where: { organizationId: personalOrganizationId(userId) } });

  // Idempotent: applied once, never again, however it is asked for.
  expect(await services.ledger.replay(provider, stored!.eventId)).toEqual({ status: "already-applied" });
  expect((await runReplayCommand(services.ledger, { unlinked: true })).lines.at(-1)).toMatch(/^0 unlinked/);
  expect(await prisma().billingActivity.count({ where: { organizationId: personalOrganizationId(userId) } })).toBe(activity);
  await prisma().webhookEvent.deleteMany({ where: { provider } });
});

test("a replayed older event never overwrites a newer state (the live path's order-safety)", async () => {
  const user = await prisma().user.create({ data: { email: "order@example.test" } });
  const older = facts("stripe", "no-such-user-yet", new Date(Date.now() - 120_000));
  older.status = "past_due";
  expect((await deliver("stripe", older)).outcome).toBe("unlinked");
  // The newer state arrives for the same subscription, for the real user.
  const newer = { ...older, userId: user.id, status: "active", at: new Date(Date.now() - 60_000) };
  expect((await deliver("stripe", newer)).outcome).toBe("processed");
  const unlinked = (await services.ledger.list({ outcome: "unlinked" })).find((entry) => entry.provider === "stripe")!;
  expect(await services.ledger.replay("stripe", unlinked.eventId)).toEqual({ status: "applied", outcome: "ignored" });
  const row = await prisma().subscription.findUniqueOrThrow({ where: { provider_providerSubscriptionId: { provider: "stripe", providerSubscriptionId: older.subscriptionId } } });
  expect(row.status).toBe("active");
});

test("payloads past the retention are cleared; such an event, or one never stored, is one clear line and exit 1", async () => {
  const user = await prisma().user.create({ data: { email: "prune@example.test" } });
  await deliver("polar", facts("polar", user.id));
  const [event] = await eventsOf("polar");
  await prisma().webhookEvent.update({ where: { id: event!.id }, data: { receivedAt: new Date(Date.now() - 31 * 86_400_000) } });
  expect(await services.ledger.prune()).toBe(1);
  expect((await prisma().webhookEvent.findUniqueOrThrow({ where: { id: event!.id } })).payload).toBeNull();
  expect((await services.ledger.list({ since: new Date(Date.now() - 40 * 86_400_000) })).find((entry) => entry.eventId === event!.eventId)?.replayable).toBe(false);

  await prisma().webhookEvent.update({ where: { id: event!.id }, data: { outcome: "unlinked" } });
  const pruned = await runReplayCommand(services.ledger, { provider: "polar", eventId: event!.eventId });
  expect(pruned).toEqual({ lines: [], errors: [`polar event ${event!.eventId}: its payload is past the retention period and was cleared.`], exitCode: 1 });
  const missing = await runReplayCommand(services.ledger, { provider: "stripe", eventId: "evt_NotInTheLedger" });
  expect(missing).toEqual({ lines: [], errors: ["stripe event evt_NotInTheLedger: not in the ledger."], exitCode: 1 });
});

test("a delivery whose apply fails is kept as failed, and its redelivery applies it", async () => {
  const user = await prisma().user.create({ data: { email: "fail@example.test" } });
  const state = facts("lemonsqueezy", user.id);
  const delivery = sign("lemonsqueezy", subscriptionEvent("lemonsqueezy", state), SECRETS.lemonsqueezy);
  const original = prisma().$transaction.bind(prisma());
  (prisma() as { $transaction: unknown }).$transaction = () => Promise.reject(new Error("database down"));
  let response;
  try {
    response = await services.handleWebhook("lemonsqueezy", webhookRequest(`${APP}/webhooks/lemonsqueezy`, delivery));
  } finally {
    (prisma() as { $transaction: unknown }).$transaction = original;
  }
  expect(response.status).toBe(503);
  expect((await services.ledger.list({ outcome: "failed" })).map((entry) => entry.provider)).toEqual(["lemonsqueezy"]);
  const again = await services.handleWebhook("lemonsqueezy", webhookRequest(`${APP}/webhooks/lemonsqueezy`, delivery));
  expect(await again.json()).toEqual({ received: true, outcome: "processed" });
  expect(await services.ledger.list({ outcome: "failed" })).toEqual([]);
});

test("bad arguments are one clear line", () => {
  expect(parseEventsArguments(["--since", "yesterday-ish"])).toHaveProperty("error");
  expect(parseEventsArguments(["--unlinked", "--failed"])).toHaveProperty("error");
  expect(parseEventsArguments(["--failed", "--since", "2026-12-01"])).toEqual({ outcome: "failed", since: new Date("2026-12-01") });
  expect(parseReplayArguments(["paypal", "x"])).toEqual({ error: 'Unknown provider "paypal": one of stripe, polar, lemonsqueezy.' });
  expect(parseReplayArguments(["stripe"])).toHaveProperty("error");
});
