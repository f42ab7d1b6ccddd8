import { createHash, randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { type RunningApp, startApp } from "./app-process.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS, SEED } from "./fuzz-settings.ts";
import type { HostileResponse } from "./http-client.ts";
import { checkLogOfEachTest } from "./log-scan.ts";
import { WEBHOOK_SECRETS, type WebhookPlan, signatureHeaders, webhookArbitraries, webhookRequest } from "./webhook-deliveries.ts";

/** SPEC "Subscriptions and webhooks": a body over 1 MiB is refused. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;
const INVALID_SIGNATURE = { error: "Invalid signature" };
/** What a signed event that changes nothing may be answered: no generated event names a known user. */
const HARMLESS_OUTCOMES = ["ignored", "unlinked", "duplicate"];

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
let stopped = false;

beforeAll(async () => {
  // Explicit secrets (the emulator adopts configured ones), so the suite can sign as each provider does.
  app = await startApp({
    port: 7810,
    env: {
      TRUST_PROXY: "1",
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRETS.stripe,
      POLAR_WEBHOOK_SECRET: WEBHOOK_SECRETS.polar,
      LEMONSQUEEZY_WEBHOOK_SECRET: WEBHOOK_SECRETS.lemonsqueezy,
    },
  });
  fuzz = createBodyFuzz(app);
  for (const secret of Object.values(WEBHOOK_SECRETS)) fuzz.secrets.add(secret);
});

afterAll(async () => {
  fuzz?.report();
  fuzz?.close();
  if (!stopped) await app?.stop();
});

checkLogOfEachTest(() => app, () => fuzz.secrets);

/**
 * What the SPEC wants for this delivery: refused (400 Invalid signature) unless it is signed with the
 * secret over exactly these bytes and is JSON; a signed event changes nothing and is answered 200.
 */
function expected(provider: ProviderId, plan: WebhookPlan, body: Buffer): "refused" | "taken" | "either" {
  if (plan.signing !== "valid") return "refused";
  const text = body.toString("utf8");
  // Stripe's and Polar's verifiers hash the body decoded as UTF-8, as the providers (which send UTF-8) sign it.
  if (!Buffer.from(text).equals(body)) return "either";
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "refused";
  }
  // Stripe signs events only: a body without an event's string id and type is not one.
  const event = parsed as { id?: unknown; type?: unknown } | null;
  if (provider === "stripe" && (typeof event !== "object" || event === null || typeof event.id !== "string" || typeof event.type !== "string")) return "refused";
  return "taken";
}

function answerProblems(expectation: ReturnType<typeof expected>, response: HostileResponse): string[] {
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return [`answered ${response.status} with a body that is not JSON: ${response.body.slice(0, 200)}`];
  }
  const refused = response.status === 400 && JSON.stringify(body) === JSON.stringify(INVALID_SIGNATURE);
  const outcome = (body as { received?: unknown; outcome?: unknown }).outcome;
  const taken = response.status === 200 && (body as { received?: unknown }).received === true && HARMLESS_OUTCOMES.includes(String(outcome));
  if (expectation === "refused" && !refused) return [`expected 400 ${JSON.stringify(INVALID_SIGNATURE)}, got ${response.status} ${response.body.slice(0, 200)}`];
  if (expectation === "taken" && !taken) return [`expected 200 with an outcome of ${HARMLESS_OUTCOMES.join(", ")}, got ${response.status} ${response.body.slice(0, 200)}`];
  if (expectation === "either" && !refused && !taken) return [`expected 200 (changing nothing) or 400 Invalid signature, got ${response.status} ${response.body.slice(0, 200)}`];
  return [];
}

describe(`every generated delivery (${NUM_RUNS} per provider) to the webhook doors is refused unless signed, and a signed one for no known user changes nothing`, () => {
  for (const provider of PROVIDER_IDS) {
    test(
      `POST /webhooks/${provider}`,
      async () => {
        const { plan } = webhookArbitraries(provider, app.origin);
        await assertEach(plan, async (planned) => {
            const request = webhookRequest(provider, planned);
            const { response, problems } = await fuzz.exchange("webhook", request, `/webhooks/${provider}`);
            const wanted = expected(provider, planned, request.body!);
            expect([...problems, ...answerProblems(wanted, response).map((problem) => `${request.description}: ${problem}`)]).toEqual([]);
          });
      },
      PROPERTY_TIMEOUT_MS,
    );
  }
});

describe("the webhook body limit (1 MiB)", () => {
  test.each(PROVIDER_IDS)("%s: a signed event of exactly 1 MiB is taken; one byte more is refused with 413", async (provider) => {
    const event = { id: "evt_hostile_limit", type: "customer.subscription.updated", meta: { event_name: "subscription_updated" } };
    for (const [size, status] of [
      [WEBHOOK_BODY_LIMIT, 200],
      [WEBHOOK_BODY_LIMIT + 1, 413],
    ] as const) {
      // Padded with JSON whitespace: still the same event, signed over every byte of it.
      const text = JSON.stringify({ ...event, id: `${event.id}_${size}` });
      const body = Buffer.from(`${text}${" ".repeat(size - Buffer.byteLength(text))}`);
      expect(body.byteLength).toBe(size);
      const response = await fuzz.client.send({
        method: "POST",
        path: `/webhooks/${provider}`,
        headers: { "Content-Type": "application/json", ...signatureHeaders(provider, body, WEBHOOK_SECRETS[provider]) },
        body,
      });
      expect(response.status, `${size} bytes`).toBe(status);
    }
  });
});

describe("afterwards, in the app's own database", () => {
  test("no delivery created or moved a customer, wrote a subscription or a subscription change: unlinked events change nothing", async () => {
    // Its own traffic, so that it holds run alone too; run with the file it also covers every delivery above.
    // Events written to reach the linking step at each provider, naming a user no account has (one also
    // names a seeded subscription with a newer state): each must be recorded as unlinked and change nothing.
    const linking = PROVIDER_IDS.flatMap((provider) => linkingStepDeliveries(provider));
    for (const delivery of linking) {
      const response = await fuzz.client.send({ method: "POST", path: `/webhooks/${delivery.provider}`, headers: delivery.headers, body: delivery.body });
      expect({ delivery: delivery.description, status: response.status, body: response.body }).toEqual({
        delivery: delivery.description,
        status: 200,
        body: JSON.stringify({ received: true, outcome: "unlinked" }),
      });
    }
    // And generated events, every one signed, as the fuzz above sends them.
    for (const provider of PROVIDER_IDS) {
      const signed = webhookArbitraries(provider, app.origin).plan.map((planned): WebhookPlan => ({ ...planned, signing: "valid" }));
      for (const planned of fc.sample(signed, { numRuns: OWN_GENERATED_EVENTS, ...(SEED === undefined ? {} : { seed: SEED }) })) {
        const request = webhookRequest(provider, planned);
        const { response, problems } = await fuzz.exchange("webhook", request, `/webhooks/${provider} (database test)`);
        expect([...problems, ...answerProblems(expected(provider, planned, request.body!), response).map((problem) => `${request.description}: ${problem}`)]).toEqual([]);
      }
    }

    stopped = true;
    const stored = await app.stopAndRead(async (dataDir) => {
      const db = await PGlite.create(dataDir);
      try {
        const rows = async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows;
        return {
          customers: await rows<{ provider: string; id: string }>(`SELECT provider::text AS provider, "providerCustomerId" AS id FROM "Customer" ORDER BY 1, 2`),
          subscriptions: await rows<{ provider: string; id: string; status: string }>(
            `SELECT provider::text AS provider, "providerSubscriptionId" AS id, status::text AS status FROM "Subscription" ORDER BY 1, 2`,
          ),
          changes: await rows<{ count: number }>(`SELECT count(*)::int AS count FROM "BillingActivity" WHERE action = 'subscription_change'`),
          ledger: await rows<{ provider: string; outcome: string; count: number }>(
            `SELECT provider::text AS provider, outcome::text AS outcome, count(*)::int AS count FROM "WebhookEvent" GROUP BY 1, 2 ORDER BY 1, 2`,
          ),
          linking: await rows<{ provider: string; id: string; outcome: string }>(
            `SELECT provider::text AS provider, "eventId" AS id, outcome::text AS outcome FROM "WebhookEvent" WHERE "eventId" = ANY($1::text[]) ORDER BY 1, 2`,
            [linking.map(({ eventId }) => eventId)],
          ),
        };
      } finally {
        await db.close();
      }
    });
    console.log(`webhook ledger after the run: ${JSON.stringify(stored.ledger)}`);

    const seeded = DEMO_ACCOUNTS.flatMap((account) => (account.customer ? [account] : []));
    expect(stored.customers.toSorted(byKey)).toEqual(seeded.map(({ customer }) => ({ provider: customer.provider, id: customer.providerCustomerId })).toSorted(byKey));
    expect(stored.subscriptions.toSorted(byKey)).toEqual(
      seeded.map(({ customer, subscription }) => ({ provider: customer.provider, id: subscription.providerSubscriptionId, status: subscription.status })).toSorted(byKey),
    );
    expect(stored.changes).toEqual([{ count: 0 }]);
    expect(stored.ledger.filter((row) => row.outcome === "processed")).toEqual([]);
    // The events did reach the linking step, for every provider: otherwise this proves little.
    for (const provider of PROVIDER_IDS) {
      expect(stored.ledger.some((row) => row.provider === provider && row.outcome === "unlinked"), `${provider} has unlinked events`).toBe(true);
    }
    // This test's own among them, each one.
    expect(stored.linking.toSorted(byKey)).toEqual(linking.map(({ provider, eventId }) => ({ provider, id: eventId, outcome: "unlinked" })).toSorted(byKey));
  });
});

/** Generated events the database test sends itself, per provider, besides its written-out ones. */
const OWN_GENERATED_EVENTS = 50;

type LinkingStepDelivery = { provider: ProviderId; description: string; eventId: string; headers: Record<string, string>; body: Buffer };

/**
 * Signed events that each provider module parses into a subscription or customer event, so they reach
 * the linking step, for a user no account has and a provider customer no one is linked to: a customer
 * link (Stripe's completed checkout, Polar's new customer, Lemon Squeezy's order), a newer state for the
 * seeded subscription, and a new subscription naming no user at all. The ledger's id for each, as the
 * app derives it (Stripe's event id, Polar's webhook-id, the sha256 of Lemon Squeezy's body).
 */
function linkingStepDeliveries(provider: ProviderId): LinkingStepDelivery[] {
  const seeded = DEMO_ACCOUNTS.find((account) => account.customer?.provider === provider)!.subscription!;
  const now = new Date();
  const seconds = Math.floor(now.getTime() / 1000);
  const later = new Date(now.getTime() + 30 * 24 * 3600 * 1000).toISOString();
  const events: [string, unknown][] = [];
  if (provider === "stripe") {
    const event = (type: string, object: unknown) => ({ id: `evt_hostile_${hex()}`, object: "event", type, created: seconds, data: { object } });
    const subscription = (id: string, status: string, userId: string | undefined) => ({
      id,
      object: "subscription",
      customer: `cus_hostile_${hex()}`,
      status,
      cancel_at_period_end: false,
      metadata: userId === undefined ? {} : { user_id: userId },
      items: { data: [{ price: { id: `price_hostile_${hex()}` }, current_period_end: seconds + 30 * 24 * 3600 }] },
    });
    events.push(
      ["a completed checkout", event("checkout.session.completed", { object: "checkout.session", mode: "subscription", customer: `cus_hostile_${hex()}`, client_reference_id: unknownUser(), metadata: { user_id: unknownUser() } })],
      ["the seeded subscription, canceled", event("customer.subscription.updated", subscription(seeded.providerSubscriptionId, "canceled", unknownUser()))],
      ["a new subscription, no user", event("customer.subscription.created", subscription(`sub_hostile_${hex()}`, "active", undefined))],
    );
  } else if (provider === "polar") {
    const event = (type: string, data: unknown) => ({ type, timestamp: now.toISOString(), data });
    const subscription = (id: string, status: string, userId: string | null) => ({
      id,
      status,
      customer_id: randomUUID(),
      product_id: randomUUID(),
      current_period_end: later,
      cancel_at_period_end: false,
      customer: { external_id: userId },
    });
    events.push(
      ["a new customer", event("customer.created", { id: randomUUID(), external_id: unknownUser() })],
      ["the seeded subscription, canceled", event("subscription.updated", subscription(seeded.providerSubscriptionId, "canceled", unknownUser()))],
      ["a new subscription, no user", event("subscription.created", subscription(randomUUID(), "active", null))],
    );
  } else {
    const subscription = (id: string, status: string) => ({
      type: "subscriptions",
      id,
      attributes: { customer_id: lemonId(), variant_id: lemonId(), status, cancelled: status === "cancelled", renews_at: later, ends_at: null, updated_at: now.toISOString() },
    });
    events.push(
      ["an order", lemonEvent("order_created", unknownUser(), { type: "orders", id: String(lemonId()), attributes: { customer_id: lemonId(), updated_at: now.toISOString() } })],
      ["the seeded subscription, cancelled", lemonEvent("subscription_updated", unknownUser(), subscription(seeded.providerSubscriptionId, "cancelled"))],
      ["a new subscription, no user", lemonEvent("subscription_created", null, subscription(String(lemonId()), "active"))],
    );
  }
  return events.map(([what, event]) => {
    const body = Buffer.from(JSON.stringify(event));
    const webhookId = `msg_hostile_${hex()}`;
    const eventId = provider === "stripe" ? (event as { id: string }).id : provider === "polar" ? webhookId : createHash("sha256").update(body).digest("hex");
    const headers = { "Content-Type": "application/json", ...signatureHeaders(provider, body, WEBHOOK_SECRETS[provider], { id: webhookId }) };
    return { provider, description: `${provider}: ${what} ${body.toString("utf8")}`, eventId, headers, body };
  });
}

/** A user id no account has (accounts' ids are cuids). */
const unknownUser = () => randomUUID();
const hex = () => randomUUID().replaceAll("-", "");
/** Lemon Squeezy's envelope: the event's name, and the user id checkout passed (or none). */
const lemonEvent = (name: string, userId: string | null, data: unknown) => ({ meta: { event_name: name, custom_data: userId === null ? null : { user_id: userId } }, data });
/** A Lemon Squeezy numeric id far from the seeded ones. */
const lemonId = () => 900_000_000 + Math.floor(Math.random() * 90_000_000);

function byKey(a: { provider: string; id: string }, b: { provider: string; id: string }): number {
  return `${a.provider} ${a.id}`.localeCompare(`${b.provider} ${b.id}`);
}
