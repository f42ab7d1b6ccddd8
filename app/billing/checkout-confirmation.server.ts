import type { PrismaClient } from "~/db/generated/client.ts";
import type { BillingActor } from "~/orgs/billing-owner.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { RateLimit } from "~/rate-limits/rate-limits.server.ts";
import { callProvider } from "./provider-call.server.ts";
import type { BillingProvider } from "./providers/provider.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "./subscription-status.ts";
import type { WebhookService } from "./webhooks.server.ts";

export type CheckoutConfirmation = ReturnType<typeof createCheckoutConfirmation>;

/** What confirming a returned checkout came to; the page says "being confirmed" for every outcome but "applied". */
export type ConfirmOutcome = "applied" | "not-yours" | "not-complete" | "unknown" | "unreachable" | "unsupported";

/**
 * Confirmation without waiting (SPEC "Plans and checkout"): back from the provider's checkout, the success URL
 * names the checkout; the provider is asked for it at once and its subscription applied with the webhooks' own
 * order-safe `apply`. A reference that is not the user's own (another user's, forged, unknown) changes nothing;
 * a provider that cannot be reached leaves the page saying "being confirmed", as before.
 */
export function createCheckoutConfirmation(deps: {
  prisma: PrismaClient;
  provider: BillingProvider;
  webhooks: Pick<WebhookService, "applyProviderState">;
  /** Counted against the user's provider calls, as the portal and checkout are. */
  providerCalls?: RateLimit;
}) {
  const { prisma, provider, webhooks } = deps;
  const referenceParam = provider.retrieveCheckout ? (provider.checkoutReferenceParam ?? null) : null;
  return {
    /** The success URL's parameter for the active provider, or null when it cannot be confirmed on return. */
    referenceParam,

    /**
     * `/account?checkout=success&…`: confirms the checkout the URL names, unless the user already has a live
     * subscription at the provider (its webhook came first, or this is a reload): then nothing is asked.
     */
    async confirmReturn(who: BillingActor, query: URLSearchParams): Promise<ConfirmOutcome | "none"> {
      const reference = referenceParam && query.get("checkout") === "success" ? query.get(referenceParam) : null;
      if (!reference) return "none";
      const live = await prisma.subscription.count({
        where: { organizationId: who.organizationId, provider: provider.id, status: { in: [...LIVE_SUBSCRIPTION_STATUSES] } },
      });
      return live > 0 ? "none" : this.confirm(who, reference);
    },

    async confirm({ userId, organizationId }: BillingActor, reference: string): Promise<ConfirmOutcome> {
      if (!provider.retrieveCheckout) return "unsupported";
      const call = await callProvider({
        action: "checkout",
        userId,
        limit: deps.providerCalls,
        call: () => provider.retrieveCheckout!(reference),
      });
      if (!call.ok) return "unreachable";
      const checkout = call.value;
      const outcome: ConfirmOutcome = !checkout
        ? "unknown"
        : checkout.organizationId !== organizationId
          ? "not-yours"
          : !checkout.complete || !checkout.subscription
            ? "not-complete"
            : "applied";
      if (outcome === "applied") {
        // The checkout named this organisation; its subscription is applied for it, as its webhook would be.
        await webhooks.applyProviderState(provider.id, { ...checkout!.subscription!, organizationId }, checkout!.answeredAt);
      }
      logEvent(outcome === "not-yours" ? "warn" : "info", "billing.checkout.confirmed_on_return", { provider: provider.id, outcome });
      return outcome;
    },
  };
}
