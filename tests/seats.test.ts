import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { DEMO_LEMONSQUEEZY_STORE_ID, DEMO_PLAN_PROVIDER_IDS, type PlanId } from "~/billing/plans.ts";
import { createLemonSqueezyProvider } from "~/billing/providers/lemonsqueezy.server.ts";
import { createPolarProvider } from "~/billing/providers/polar.server.ts";
import { PROVIDER_IDS, ProviderError, type BillingProvider, type ProviderId } from "~/billing/providers/provider.ts";
import { DEFAULT_RESILIENCE, withResilience } from "~/billing/providers/resilience.server.ts";
import { createStripeProvider } from "~/billing/providers/stripe.server.ts";
import { createWebhookService } from "~/billing/webhooks.server.ts";
import type { Database } from "~/db/database.server.ts";
import { routeLemonSqueezyApiTo } from "../emulator/lemonsqueezy-routing.ts";
import { pay } from "../emulator/lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator, type RecordedRequest } from "../emulator/provider-emulator.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { createJobRunner } from "~/jobs/jobs.server.ts";
import { MAIL_JOB_KIND } from "~/mail/mail.server.ts";
import { createSeatSync, onMembershipChanged, SEATS_JOB_KIND } from "~/billing/seats/seats.server.ts";
import { createReconciler } from "~/billing/sync/reconciler.server.ts";
import { createOrganizationService } from "~/orgs/organizations.server.ts";
import { createTestDatabase } from "./database.ts";
import { jobRows } from "./jobs.ts";

// SPEC "Organisations and seats", issue 17 item 5, the provider side: for each provider, the app's own provider
// module (the real SDK, inside the provider-call policy) against the emulator over HTTP, with the emulator's signed
// webhooks delivered to the app's webhook service on a real database. A per-seat checkout stores its quantity; a
// seat update changes the provider's count and, through the provider's update webhook, our row.

const SECRETS = { stripe: "whsec_seatsTestSecret", polar: "polar-seats-secret", lemonsqueezy: "lemon-seats-secret" } as const;
const APP = "http://app.test";
const PER_SEAT_PLAN: PlanId = "team";
const plans = DEMO_PLAN_PROVIDER_IDS as Record<ProviderId, Record<PlanId, string>>;

let emulator: ProviderEmulator;
let database: Database;
let receiver: Server;
let undoRouting: () => void;

beforeAll(async () => {
  [emulator, database] = await Promise.all([startProviderEmulator({ appReturnUrl: `${APP}/account` }), createTestDatabase()]);
  undoRouting = routeLemonSqueezyApiTo(emulator.origin);
  const webhooks = createWebhookService({ prisma: database.prisma, secrets: SECRETS, plans });
  // The app's webhook endpoint, as a tiny server: the emulator delivers each provider's signed events here.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
      const response = await webhooks.handle(req.url!.split("/").at(-1), new Request(`${APP}${req.url}`, { method: "POST", headers, body: Buffer.concat(chunks) }));
      res.writeHead(response.status, { "content-type": "application/json" }).end(await response.text());
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  emulator.lifecycle.registerWebhooks(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`, SECRETS);
}, 60_000);
afterAll(async () => {
  undoRouting();
  await emulator.close();
  await new Promise((resolve) => receiver.close(resolve));
  await database.close();
});
beforeEach(() => emulator.reset());

/** The app's provider module for `id`, in the same policy every provider gets (budget, retry, breaker). */
function providerFor(id: ProviderId): BillingProvider {
  const options = { timeoutMs: 10_000, emulatorOrigin: emulator.origin };
  const module =
    id === "stripe"
      ? createStripeProvider({ secretKey: "sk_test_seats4242", prices: plans.stripe, ...options })
      : id === "polar"
        ? createPolarProvider({ accessToken: "polar_oat_seats4242", server: "sandbox", products: plans.polar, ...options })
        : createLemonSqueezyProvider({ apiKey: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWF0cyJ9.seats4242", storeId: DEMO_LEMONSQUEEZY_STORE_ID, variants: plans.lemonsqueezy });
  return withResilience(module, { ...DEFAULT_RESILIENCE, breakerCoolDownMs: 60_000, timeoutMs: options.timeoutMs });
}

let users = 0;
/** A user who checks out the per-seat plan with `seats` through the provider module and pays; answers their stored subscription once the webhooks are in. */
async function subscribeWithSeats(provider: BillingProvider, seats: number, organizationId?: string) {
  const user = await database.prisma.user.create({ data: { email: `seats-${provider.id}-${++users}-${Date.now()}@example.test` } });
  const owner = organizationId ?? personalOrganizationId(user.id);
  const { url } = await provider.createCheckout({
    plan: PER_SEAT_PLAN,
    owner: { id: owner, email: user.email },
    successUrl: `${APP}/billing/checkout/return`,
    cancelUrl: `${APP}/pricing`,
    trialDays: 0,
    quantity: seats,
  });
  expect((await pay(url)).status).toBeLessThan(400);
  return vi.waitFor(
    async () => {
      const row = await database.prisma.subscription.findFirst({ where: { organizationId: owner, provider: provider.id } });
      if (!row) throw new Error("the subscription's webhook has not arrived yet");
      return row;
    },
    { timeout: 15_000, interval: 50 },
  );
}

const storedQuantity = async (provider: ProviderId, id: string) =>
  (await database.prisma.subscription.findUnique({ where: { provider_providerSubscriptionId: { provider, providerSubscriptionId: id } } }))?.quantity;

const atProvider = (provider: ProviderId, id: string) => emulator.lifecycle.summaries(provider).find((summary) => summary.id === id);

/** What each SDK sent for the seat change, read off the wire. */
function seatChangeOnTheWire(provider: ProviderId, requests: RecordedRequest[]) {
  if (provider === "stripe") {
    const update = requests.find((request) => request.method === "POST" && request.path.startsWith("/v1/subscriptions/"));
    return update?.body;
  }
  if (provider === "polar") return requests.find((request) => request.method === "PATCH")?.body;
  return requests.find((request) => request.method === "PATCH" && request.path.startsWith("/v1/subscription-items/"))?.body;
}

describe.each(PROVIDER_IDS)("seats at %s", (id) => {
  test("a per-seat checkout with quantity 3 makes a subscription of 3 seats, stored from the webhook", async () => {
    const provider = providerFor(id);
    const row = await subscribeWithSeats(provider, 3);
    expect(row.quantity).toBe(3);
    expect(atProvider(id, row.providerSubscriptionId)?.quantity).toBe(3);
  });

  test("updateSeats(4): the provider shows 4 and its update webhook brings our row to 4", async () => {
    const provider = providerFor(id);
    const row = await subscribeWithSeats(provider, 3);
    emulator.reset();

    await expect(provider.updateSeats!({ providerSubscriptionId: row.providerSubscriptionId, quantity: 4 })).resolves.toEqual({ quantity: 4 });

    expect(atProvider(id, row.providerSubscriptionId)?.quantity).toBe(4);
    await vi.waitFor(async () => expect(await storedQuantity(id, row.providerSubscriptionId)).toBe(4), { timeout: 15_000, interval: 50 });
    const event = emulator.lifecycle.delivery.list({ provider: id, subscriptionId: row.providerSubscriptionId }).map((record) => record.type);
    expect(event).toContain({ stripe: "customer.subscription.updated", polar: "subscription.updated", lemonsqueezy: "subscription_updated" }[id]);
    // The real request shapes (PROVIDERS.md §5.4).
    const sent = seatChangeOnTheWire(id, emulator.requests(id));
    const expected = {
      stripe: { "items[0][id]": expect.stringMatching(/^si_/), "items[0][quantity]": "4", proration_behavior: "create_prorations" },
      polar: { seats: 4, proration_behavior: "prorate" },
      lemonsqueezy: { data: { type: "subscription-items", attributes: { quantity: 4, invoice_immediately: false, disable_prorations: false } } },
    }[id];
    expect(sent).toMatchObject(expected);
  });

  test("a provider that fails the update: a closed failure, nothing of the provider's text, the count unchanged", async () => {
    const provider = providerFor(id);
    const row = await subscribeWithSeats(provider, 2);
    emulator.reset();
    // Every call fails for a while: the policy's one retry does not get through.
    for (let attempt = 0; attempt < 4; attempt++) emulator.failNext(id, { status: 503 });

    const error = await provider.updateSeats!({ providerSubscriptionId: row.providerSubscriptionId, quantity: 5 }).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("unavailable");
    expect((error as ProviderError).message).not.toMatch(/emulated|Internal|Something went wrong|went wrong/i);
    expect(atProvider(id, row.providerSubscriptionId)?.quantity).toBe(2);
    expect(await storedQuantity(id, row.providerSubscriptionId)).toBe(2);
  });
});

test("Polar refuses seats for a product without seat-based pricing: a refusal, not a bad token", async () => {
  const polar = providerFor("polar");
  const user = await database.prisma.user.create({ data: { email: `seats-polar-fixed-${Date.now()}@example.test` } });
  const checkout = polar.createCheckout({ plan: "starter", owner: { id: personalOrganizationId(user.id), email: user.email }, successUrl: `${APP}/a`, cancelUrl: `${APP}/b`, quantity: 3, trialDays: 0 });
  await expect(checkout).rejects.toMatchObject({ kind: "refused" });
});

test("Stripe: the update names the subscription item, so it changes that item instead of adding one", async () => {
  const stripe = providerFor("stripe");
  const row = await subscribeWithSeats(stripe, 3);
  const itemId = emulator.lifecycle.subscriptions.get("stripe", row.providerSubscriptionId)!.itemId;
  emulator.reset();
  await stripe.updateSeats!({ providerSubscriptionId: row.providerSubscriptionId, quantity: 6 });
  const sent = seatChangeOnTheWire("stripe", emulator.requests("stripe")) as Record<string, string>;
  expect(sent["items[0][id]"]).toBe(itemId);
  expect(Object.keys(sent).filter((key) => key.startsWith("items[1]"))).toEqual([]);
});

// ------------------------------------------------------------------ seats follow members (app/billing/seats/)

/** An organisation "Acme" with `members` members (the first its owner), on the per-seat plan at `id` with `seats` seats. */
async function teamAt(id: ProviderId, members: number, seats = members) {
  const people = await Promise.all(
    Array.from({ length: members }, (_, n) => database.prisma.user.create({ data: { email: `acme-${id}-${n}-${Date.now()}-${Math.random()}@example.test` } })),
  );
  const organization = await database.prisma.organization.create({
    data: { name: "Acme", memberships: { create: people.map((user, n) => ({ userId: user.id, role: n === 0 ? ("owner" as const) : ("member" as const) })) } },
  });
  const provider = providerFor(id);
  const row = await subscribeWithSeats(provider, seats, organization.id);
  return { organizationId: organization.id, ownerId: people[0]!.id, provider, subscriptionId: row.providerSubscriptionId };
}

/** What the organisations code does when someone joins: the membership and the hook, in one transaction. */
async function addMember(organizationId: string) {
  const user = await database.prisma.user.create({ data: { email: `joiner-${Date.now()}-${Math.random()}@example.test` } });
  await database.prisma.$transaction(async (tx) => {
    await tx.membership.create({ data: { organizationId, userId: user.id, role: "member" } });
    await onMembershipChanged(tx, organizationId);
  });
}

async function seatRunner(provider: BillingProvider) {
  const seats = createSeatSync({ prisma: database.prisma, providers: { [provider.id]: provider } });
  // The production backoff is seconds; here a failed job is due again at once, so "later" is the next run.
  const runner = createJobRunner({ prisma: database.prisma, handlers: { [SEATS_JOB_KIND]: seats.handleJob }, retryDelaySeconds: 0 });
  // The kind's queue exists before a membership change writes its job (ADR 027).
  await runner.ready();
  return { seats, runner };
}

/** The organisation's seat jobs pg-boss still holds (one that ran is deleted; its key row stays, ADR 027). */
const seatJobs = async (organizationId: string) =>
  (await jobRows(database, SEATS_JOB_KIND)).filter((job) => (job.data as { dedupKey?: string }).dedupKey?.startsWith(`seats:${organizationId}:`));
/** Every seat job ever written for the organisation: their dedup keys. */
const seatKeys = (organizationId: string) =>
  database.prisma.jobKey.count({ where: { kind: SEATS_JOB_KIND, dedupKey: { startsWith: `seats:${organizationId}:` } } });

const activityOf = (organizationId: string) =>
  database.prisma.billingActivity.findMany({ where: { organizationId, action: "subscription_change" }, select: { outcome: true, intent: true } });

describe.each(PROVIDER_IDS)("seats follow members at %s", (id) => {
  test("a member joins: the job sets the provider's quantity to the member count, our row and the activity follow", async () => {
    const team = await teamAt(id, 2);
    const { runner } = await seatRunner(team.provider);
    await addMember(team.organizationId);
    // Written with the membership, not yet run (a burst of changes waits a moment and becomes one call).
    expect(await seatJobs(team.organizationId)).toMatchObject([{ state: "created" }]);

    await vi.waitFor(async () => {
      await runner.runOnce();
      expect(atProvider(id, team.subscriptionId)?.quantity).toBe(3);
    }, { timeout: 15_000, interval: 100 });
    await vi.waitFor(async () => expect(await storedQuantity(id, team.subscriptionId)).toBe(3), { timeout: 15_000, interval: 50 });
    expect(await activityOf(team.organizationId)).toContainEqual({ intent: "team", outcome: "seats_changed:2-3" });
  });
});

test("a provider failure is retried later and then applied, never lost", async () => {
  const team = await teamAt("polar", 1);
  const { runner } = await seatRunner(team.provider);
  await addMember(team.organizationId);
  // Due once its moment of waiting for more changes is over.
  await vi.waitFor(async () => expect((await seatJobs(team.organizationId)).filter((job) => job.startAfter <= new Date())).toHaveLength(1), { timeout: 15_000, interval: 100 });
  emulator.reset();
  // Polar is down for this attempt (and the policy's one retry).
  for (let attempt = 0; attempt < 2; attempt++) emulator.failNext("polar", { status: 503 });

  await runner.runOnce();
  const [failed] = await seatJobs(team.organizationId);
  expect(failed).toMatchObject({ state: "retry", output: { reason: "ProviderError" } });
  expect(atProvider("polar", team.subscriptionId)?.quantity).toBe(1);
  // Our row still says what the provider has, so the next attempt (or the reconciler) sees the difference.
  expect(await storedQuantity("polar", team.subscriptionId)).toBe(1);

  await vi.waitFor(async () => {
    await runner.runOnce();
    expect(atProvider("polar", team.subscriptionId)?.quantity).toBe(2);
  }, { timeout: 15_000, interval: 100 });
  // Done: the job is gone, its key stays (one job for the one change).
  await vi.waitFor(async () => expect(await seatJobs(team.organizationId)).toEqual([]), { timeout: 15_000, interval: 100 });
  expect(await seatKeys(team.organizationId)).toBe(1);
  expect(await activityOf(team.organizationId)).toContainEqual({ intent: "team", outcome: "seats_changed:1-2" });
});

test("several changes at once make one provider call for the latest count", async () => {
  const team = await teamAt("stripe", 1);
  const { runner } = await seatRunner(team.provider);
  await addMember(team.organizationId);
  await addMember(team.organizationId);
  emulator.reset();
  await vi.waitFor(async () => {
    await runner.runOnce();
    expect(await seatJobs(team.organizationId)).toEqual([]);
    expect(await seatKeys(team.organizationId)).toBe(2);
  }, { timeout: 15_000, interval: 100 });
  expect(atProvider("stripe", team.subscriptionId)?.quantity).toBe(3);
  const updates = emulator.requests("stripe").filter((request) => request.method === "POST" && request.path === `/v1/subscriptions/${team.subscriptionId}`);
  expect(updates).toHaveLength(1);
  expect((await activityOf(team.organizationId)).filter((entry) => entry.outcome.startsWith("seats_changed"))).toEqual([{ intent: "team", outcome: "seats_changed:1-3" }]);
});

test("the reconciler corrects a seat count that disagrees with the members (a change made without its job)", async () => {
  const team = await teamAt("lemonsqueezy", 2, 1);
  const { seats, runner } = await seatRunner(team.provider);
  const reconciler = createReconciler({ prisma: database.prisma, providers: { lemonsqueezy: team.provider }, plans, callsPerMinute: 1000, runLimitMs: 60_000, seats });
  expect(await reconciler.reconcileOnce()).toMatchObject({ errors: 0, stoppedEarly: false });
  expect(await seatJobs(team.organizationId)).toHaveLength(1);

  await vi.waitFor(async () => {
    await runner.runOnce();
    expect(atProvider("lemonsqueezy", team.subscriptionId)?.quantity).toBe(2);
  }, { timeout: 15_000, interval: 100 });
});

test("through the organisation service: an accepted invitation adds a seat at the provider, a removal takes it away", async () => {
  const team = await teamAt("stripe", 2);
  const { runner } = await seatRunner(team.provider);
  const organizations = createOrganizationService({ prisma: database.prisma, appOrigin: APP, onMembershipChanged });
  // The invitation's mail is queued with it, so its queue must exist (ADR 027); this test leaves it unsent.
  await createJobRunner({ prisma: database.prisma, handlers: { [MAIL_JOB_KIND]: async () => {} } }).ready();
  const untilProviderShows = (quantity: number) =>
    vi.waitFor(async () => {
      await runner.runOnce();
      expect(atProvider("stripe", team.subscriptionId)?.quantity).toBe(quantity);
    }, { timeout: 15_000, interval: 100 });

  const colleague = await database.prisma.user.create({ data: { email: `colleague-${Date.now()}@example.test` } });
  const invited = await organizations.invite(team.ownerId, team.organizationId, { email: colleague.email, role: "member" });
  if (!invited.ok) throw new Error("the invitation was refused");
  const token = new URL(invited.value.url).pathname.split("/").at(-1)!;
  expect(await organizations.accept(token, colleague, "no-session")).toMatchObject({ ok: true });
  await untilProviderShows(3);

  expect(await organizations.remove(team.ownerId, team.organizationId, colleague.id)).toMatchObject({ ok: true });
  await untilProviderShows(2);
  await vi.waitFor(async () => expect(await storedQuantity("stripe", team.subscriptionId)).toBe(2), { timeout: 15_000, interval: 50 });
  expect((await activityOf(team.organizationId)).map((entry) => entry.outcome).filter((outcome) => outcome.startsWith("seats_changed"))).toEqual(
    expect.arrayContaining(["seats_changed:2-3", "seats_changed:3-2"]),
  );
});
