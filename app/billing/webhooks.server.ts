import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import { rowData } from "./activity.server.ts";
import type { PlanId } from "./plans.ts";
import type { BillingEvent, ProviderId, VerifiedWebhook } from "./providers/provider.ts";
import { PROVIDER_IDS, providerModule } from "./providers/registry.server.ts";
import { readBodyUpTo } from "./request-body.server.ts";
import type { AppliedSubscriptionChange } from "~/mail/billing-mail.server.ts";

/** SPEC: webhook bodies over 1 MiB are refused (413). */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

export type WebhookOutcome = "processed" | "ignored" | "unlinked" | "duplicate";

type Transaction = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

/**
 * `POST /webhooks/<provider>` (ADR 011): verify the signature over the raw
 * body, then, in one transaction, claim the event in the ledger (a
 * redelivery finds it claimed and has no effect), link it to a user and
 * apply the subscription state unless a newer one is already stored.
 */
export function createWebhookService(deps: {
  prisma: PrismaClient;
  /** The secret of each provider whose endpoint is live (configured, or handed out by the emulator). */
  secrets: Partial<Record<ProviderId, string>>;
  /** Each provider's id for each plan, to read a subscription's plan. */
  plans: Record<ProviderId, Partial<Record<PlanId, string>>>;
  /** Called in the transaction of each applied subscription change (billing mail, issue 19). */
  onSubscriptionApplied?: (tx: Transaction, change: AppliedSubscriptionChange) => Promise<void>;
}) {
  const { prisma, secrets, plans } = deps;

  async function handle(providerParam: string | undefined, request: Request): Promise<Response> {
    if (request.method !== "POST") return json({ error: "Method Not Allowed" }, 405, { Allow: "POST" });
    const provider = PROVIDER_IDS.find((id) => id === providerParam);
    const secret = provider ? secrets[provider] : undefined;
    // A provider without a secret has no endpoint: nothing could be verified.
    if (!provider || !secret) return json({ error: "Not Found" }, 404);

    const body = await readBodyUpTo(request, MAX_WEBHOOK_BYTES);
    if (body === "too-large") return json({ error: "Payload Too Large" }, 413);

    const module = providerModule(provider);
    const verified = await module.webhooks.verify(body, request.headers, secret);
    if (!verified) {
      logEvent("warn", "billing.webhook.invalid_signature", { provider });
      return json({ error: "Invalid signature" }, 400);
    }

    if (!isStorable(verified)) {
      // No provider sends such an event: it changes nothing, and a 200 stops it being sent again.
      logEvent("info", "billing.webhook.received", { provider, outcome: "ignored" });
      return json({ received: true, outcome: "ignored" }, 200);
    }

    let outcome: WebhookOutcome;
    try {
      outcome = await record(provider, verified, module.webhooks.parse(verified));
    } catch (error) {
      // Nothing was stored (the transaction rolled back): the provider delivers again later.
      logEvent("error", "billing.webhook.not_recorded", { provider, type: verified.type, errorName: errorName(error) });
      return json({ error: "Service Unavailable" }, 503, { "Retry-After": "30" });
    }
    logEvent("info", "billing.webhook.received", { provider, type: verified.type, outcome });
    return json({ received: true, outcome }, 200);
  }

  function record(provider: ProviderId, webhook: VerifiedWebhook, event: BillingEvent): Promise<WebhookOutcome> {
    return prisma.$transaction(async (tx) => {
      // The ledger row is the lock: a concurrent delivery of the same event waits on it, then finds it taken.
      const claimed = await tx.webhookEvent.createMany({
        data: [{ provider, eventId: webhook.eventId, type: webhook.type.slice(0, 200), outcome: "ignored" }],
        skipDuplicates: true,
      });
      if (claimed.count === 0) return "duplicate";

      const outcome = await apply(tx, provider, event);
      if (outcome !== "ignored") {
        await tx.webhookEvent.update({
          where: { provider_eventId: { provider, eventId: webhook.eventId } },
          data: { outcome },
        });
      }
      return outcome;
    });
  }

  async function apply(tx: Transaction, provider: ProviderId, event: BillingEvent): Promise<Exclude<WebhookOutcome, "duplicate">> {
    if (event.kind === "ignored") return "ignored";
    const userId = await linkCustomer(tx, provider, event.providerCustomerId, event.userId);
    if (!userId) return "unlinked";
    if (event.kind === "customer-linked") return "processed";

    const { subscription } = event;
    const plan = planOf(provider, subscription.providerPlanId);
    // The state this change replaces, locked until the transaction ends, so the change's mail compares the right two states.
    const [previous] = await tx.$queryRaw<{ status: string; cancelAtPeriodEnd: boolean }[]>`
      SELECT "status"::text AS "status", "cancelAtPeriodEnd" FROM "Subscription"
      WHERE "provider" = ${provider}::"PaymentProvider" AND "providerSubscriptionId" = ${subscription.providerSubscriptionId} FOR UPDATE`;
    // One statement, so two events for one subscription cannot interleave: the row is written only when
    // this event's time is not older than the stored state's.
    const written = await tx.$executeRaw`
      INSERT INTO "Subscription" ("id", "provider", "providerSubscriptionId", "providerCustomerId", "plan", "providerPlanId",
        "status", "currentPeriodEnd", "cancelAtPeriodEnd", "providerUpdatedAt", "createdAt", "updatedAt", "userId")
      VALUES (${randomUUID()}, ${provider}::"PaymentProvider", ${subscription.providerSubscriptionId}, ${event.providerCustomerId},
        ${plan}, ${subscription.providerPlanId}, ${subscription.status}::"SubscriptionStatus", ${subscription.currentPeriodEnd},
        ${subscription.cancelAtPeriodEnd}, ${event.occurredAt}, now(), now(), ${userId})
      ON CONFLICT ("provider", "providerSubscriptionId") DO UPDATE SET
        "providerCustomerId" = EXCLUDED."providerCustomerId", "plan" = EXCLUDED."plan",
        "providerPlanId" = EXCLUDED."providerPlanId", "status" = EXCLUDED."status",
        "currentPeriodEnd" = EXCLUDED."currentPeriodEnd", "cancelAtPeriodEnd" = EXCLUDED."cancelAtPeriodEnd",
        "providerUpdatedAt" = EXCLUDED."providerUpdatedAt", "updatedAt" = now(), "userId" = EXCLUDED."userId"
      WHERE "Subscription"."providerUpdatedAt" <= EXCLUDED."providerUpdatedAt"`;
    if (written === 0) {
      logEvent("info", "billing.webhook.stale", { provider, subscription: subscription.providerSubscriptionId });
      return "ignored";
    }
    // In the same transaction: the user's billing activity shows exactly the changes that were applied.
    await tx.billingActivity.create({
      data: rowData({ userId, provider, action: "subscription_change", intent: plan, outcome: subscription.status }),
    });
    await deps.onSubscriptionApplied?.(tx, {
      userId,
      provider,
      providerSubscriptionId: subscription.providerSubscriptionId,
      plan,
      previous: previous ?? null,
      next: { status: subscription.status, cancelAtPeriodEnd: subscription.cancelAtPeriodEnd, currentPeriodEnd: subscription.currentPeriodEnd },
    });
    return "processed";
  }

  function planOf(provider: ProviderId, providerPlanId: string | null): PlanId | null {
    if (!providerPlanId) return null;
    const entry = Object.entries(plans[provider]).find(([, id]) => id === providerPlanId);
    return (entry?.[0] as PlanId | undefined) ?? null;
  }

  return { handle };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

/** Provider event ids are short (Stripe's reach 255 characters at most); the ledger's unique index takes no key of kilobytes. */
const MAX_EVENT_ID_LENGTH = 255;

/** Whether the ledger can hold the event: an id it can index, and no U+0000 anywhere (PostgreSQL text cannot hold it). */
function isStorable(webhook: VerifiedWebhook): boolean {
  if (webhook.eventId.length > MAX_EVENT_ID_LENGTH) return false;
  let nul = false;
  JSON.stringify([webhook.eventId, webhook.type, webhook.payload], (key, value: unknown) => {
    if (key.includes("\u0000") || (typeof value === "string" && value.includes("\u0000"))) nul = true;
    return value;
  });
  return !nul;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * The user an event belongs to: the one checkout named (creating or moving their Customer row at this
 * provider), else the one this provider customer is already linked to; null when neither is known.
 */
async function linkCustomer(tx: Transaction, provider: ProviderId, providerCustomerId: string, namedUserId: string | null) {
  const linked = await tx.customer.findUnique({
    where: { provider_providerCustomerId: { provider, providerCustomerId } },
    select: { userId: true },
  });
  const named = namedUserId
    ? await tx.user.findUnique({ where: { id: namedUserId }, select: { id: true } })
    : null;
  if (linked) {
    // A provider customer stays with the user it was first linked to.
    if (named && named.id !== linked.userId) logEvent("warn", "billing.webhook.link_conflict", { provider });
    return linked.userId;
  }
  if (!named) return null;
  await tx.customer.upsert({
    where: { userId_provider: { userId: named.id, provider } },
    create: { userId: named.id, provider, providerCustomerId },
    update: { providerCustomerId },
  });
  return named.id;
}
