import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { PlanId } from "./plans.ts";
import type { BillingEvent, BillingProvider, ProviderId, RetrievedSubscription, VerifiedWebhook } from "./providers/provider.ts";
import { PROVIDER_IDS, providerModule } from "./providers/registry.server.ts";
import { readBodyUpTo } from "./request-body.server.ts";
import { claimEvent, recordFailedEvent } from "./ledger/ledger.server.ts";
import { type ApplyOrder, applyBillingEvent, type OnSubscriptionApplied, SameProviderTime } from "./subscription-state.server.ts";

/** SPEC: webhook bodies over 1 MiB are refused (413). */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

export type WebhookOutcome = "processed" | "ignored" | "unlinked" | "duplicate";

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
  /**
   * The providers the app holds an API for (active and legacy): when two events for one subscription carry the
   * same provider time, the one that can `retrieveSubscription` is asked for the current state (SPEC).
   */
  providers?: readonly BillingProvider[];
  /** Called in the transaction of each applied subscription change (billing mail, issue 19). */
  onSubscriptionApplied?: OnSubscriptionApplied;
}) {
  const { prisma, secrets, plans } = deps;
  const retrieverOf = (provider: ProviderId) => deps.providers?.find((candidate) => candidate.id === provider && candidate.retrieveSubscription);

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
      outcome = await recordInOrder(provider, verified, module.webhooks.parse(verified));
    } catch (error) {
      // Nothing was applied (the transaction rolled back): the provider delivers again later; the ledger keeps
      // the event as failed where it still can, for billing:events --failed and billing:replay.
      logEvent("error", "billing.webhook.not_recorded", { provider, type: verified.type, errorName: errorName(error) });
      await recordFailedEvent(prisma, provider, verified);
      return json({ error: "Service Unavailable" }, 503, { "Retry-After": "30" });
    }
    logEvent("info", "billing.webhook.received", { provider, type: verified.type, outcome });
    return json({ received: true, outcome }, 200);
  }

  /**
   * Records the event; when it carries the same provider time as the stored state (Stripe's `created` has
   * one-second resolution), nothing is kept of that attempt and the provider is asked for the subscription's
   * current state, which is applied in the event's place (same time, so it wins the tie). If the provider
   * cannot be asked, the error reaches `handle` (503): nothing was applied, the provider delivers again.
   */
  async function recordInOrder(provider: ProviderId, webhook: VerifiedWebhook, event: BillingEvent): Promise<WebhookOutcome> {
    const retriever = retrieverOf(provider);
    try {
      return await record(provider, webhook, event, { onTie: retriever ? "ask" : "apply" });
    } catch (error) {
      if (!(error instanceof SameProviderTime) || event.kind === "ignored" || event.kind === "customer-linked") throw error;
      const current = await retriever!.retrieveSubscription!(event.subscription.providerSubscriptionId);
      logEvent("info", "billing.webhook.same_time", { provider, subscription: event.subscription.providerSubscriptionId, retrieved: current !== null });
      if (!current) return record(provider, webhook, { kind: "ignored" }, { onTie: "apply" });
      // The provider's answer, on the event's own user and customer unless it names its own.
      const asked: BillingEvent = {
        ...event,
        organizationId: current.organizationId ?? event.organizationId,
        providerCustomerId: current.providerCustomerId,
        subscription: current.subscription,
      };
      return record(provider, webhook, asked, { onTie: "apply" });
    }
  }

  function record(provider: ProviderId, webhook: VerifiedWebhook, event: BillingEvent, order: ApplyOrder): Promise<WebhookOutcome> {
    return prisma.$transaction(async (tx) => {
      // The ledger row is the lock (with the verified payload): a concurrent delivery of the same event waits on it,
      // then finds it taken.
      if (!(await claimEvent(tx, provider, webhook))) return "duplicate";

      const outcome = await applyBillingEvent(tx, provider, event, plans, order, deps.onSubscriptionApplied);
      if (outcome !== "ignored") {
        await tx.webhookEvent.update({
          where: { provider_eventId: { provider, eventId: webhook.eventId } },
          data: { outcome },
        });
      }
      return outcome;
    });
  }

  /**
   * A state the provider's API answered with (a checkout confirmed on return, SPEC "Plans and checkout"), applied by
   * the same `applyBillingEvent` as a webhook, with no ledger row: `at` is the provider's time of the answer, and an
   * answer is the newest state, so it also wins a tie. A webhook for it arriving later finds it applied.
   */
  function applyProviderState(provider: ProviderId, state: RetrievedSubscription, at: Date) {
    const event: BillingEvent = { kind: "subscription-upserted", ...state, occurredAt: at };
    return prisma.$transaction((tx) => applyBillingEvent(tx, provider, event, plans, { onTie: "apply" }, deps.onSubscriptionApplied));
  }

  return { handle, applyProviderState };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

/** Provider event ids are short (Stripe's reach 255 characters at most); the ledger's unique index takes no key of kilobytes. */
const MAX_EVENT_ID_LENGTH = 255;

/**
 * Whether the ledger can hold the event: an id it can index, no U+0000 anywhere (PostgreSQL text cannot hold it),
 * and no lone surrogate (the payload is kept as jsonb, which refuses an unpaired \uD800-\uDFFF escape).
 */
function isStorable(webhook: VerifiedWebhook): boolean {
  if (webhook.eventId.length > MAX_EVENT_ID_LENGTH) return false;
  let unstorable = false;
  JSON.stringify([webhook.eventId, webhook.type, webhook.payload], (key, value: unknown) => {
    if (bad(key) || (typeof value === "string" && bad(value))) unstorable = true;
    return value;
  });
  return !unstorable;
}

function bad(text: string): boolean {
  return text.includes("\u0000") || !text.isWellFormed();
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
