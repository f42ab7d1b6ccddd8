import { z } from "zod";
import type { PaymentProvider, PrismaClient } from "~/db/generated/client.ts";
import type { BillingActivity } from "./activity.server.ts";
import { outcomeOf } from "./activity.server.ts";
import {
  type BillingProvider,
  PORTAL_INTENTS,
  type PortalIntent,
  type ProviderFailureKind,
  type ProviderId,
} from "./providers/provider.ts";
import { callProvider } from "./provider-call.server.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "./subscription-status.ts";
import { type ReturnUrlPolicy, resolveReturnUrl } from "~/http/safe-url.ts";
import { NO_LIMIT, type RateLimit } from "~/rate-limits/rate-limits.server.ts";

/**
 * Why a portal could not be opened. A closed union: portal-failures.ts maps
 * every kind to a JSON answer and a sentence for the account page, and a new
 * kind does not compile until both exist.
 */
export type PortalFailure =
  | { kind: "unauthenticated" }
  | { kind: "invalid-body" }
  | { kind: "invalid-return-url" }
  | { kind: "no-customer" }
  /** The intent needs a subscription (cancel, change plan...) and the user has a customer but none. */
  | { kind: "no-subscription" }
  | { kind: "provider-mismatch"; customerProvider: ProviderId; activeProvider: ProviderId }
  | { kind: "too-many-requests"; retryAfterSeconds: number }
  | { kind: "provider-failure"; provider: ProviderId; reason: ProviderFailureKind; retryAfterSeconds?: number };

/** `code` says how the URL differs from what was asked: `deep_link_unsupported` when it opens the portal home. */
export type PortalResult = { ok: true; url: string; code?: string } | { ok: false; failure: PortalFailure };

/** What both doors (form and JSON) accept. Unknown fields are ignored, as a form may carry others. */
const portalInput = z.object({
  returnUrl: z.string().optional(),
  // An empty form field (a form without a choice) is the default.
  intent: z.preprocess((value) => (value === "" ? undefined : value), z.enum(PORTAL_INTENTS).default("manage")),
});

export type PortalRequest = {
  /** Who clicks (provider calls are counted per user). */
  userId: string | null;
  /** The billing owner acted for: the session's current organisation. */
  organizationId: string | null;
  input: unknown;
  /** The user's languages, most preferred first (Accept-Language). */
  languages?: readonly string[];
  /** The organisation's customers, oldest first, when the session lookup already read them. */
  customers?: readonly KnownCustomer[];
};

/** A customer row as the portal reads it. */
type KnownCustomer = { provider: PaymentProvider; providerCustomerId: string };

export type BillingPortal = ReturnType<typeof createBillingPortal>;

export function createBillingPortal(deps: {
  prisma: PrismaClient;
  provider: BillingProvider;
  /** Previous providers (BILLING_LEGACY_PROVIDERS) whose customers still open their portal there. */
  legacyProviders?: readonly BillingProvider[];
  returnUrlPolicy: ReturnUrlPolicy;
  /** SPEC "Rate limits": provider calls per user; none when left out. */
  providerCalls?: RateLimit;
  /** Where every open is recorded (SPEC "Beyond the portal"); nowhere when left out. */
  activity?: BillingActivity;
}) {
  const { prisma, provider, returnUrlPolicy } = deps;
  const providerCalls = deps.providerCalls ?? NO_LIMIT;
  const portalProviders = new Map<ProviderId, BillingProvider>(
    [provider, ...(deps.legacyProviders ?? [])].map((candidate) => [candidate.id, candidate]),
  );

  /** The organisation's current subscription at a provider: a live one, the most recently changed. From our database only. */
  async function findSubscription(organizationId: string, providerId: ProviderId) {
    return prisma.subscription.findFirst({
      where: { organizationId, provider: providerId, status: { in: [...LIVE_SUBSCRIPTION_STATUSES] } },
      orderBy: { providerUpdatedAt: "desc" },
      select: { providerSubscriptionId: true },
    });
  }

  /** One open, with what the activity record needs: the provider used and its latency. */
  async function attempt(request: PortalRequest): Promise<{ result: PortalResult; providerId: ProviderId; intent: PortalIntent | null; latencyMs: number | null }> {
    const answer = (result: PortalResult, providerId: ProviderId = provider.id, intent: PortalIntent | null = null, latencyMs: number | null = null) => ({
      result,
      providerId,
      intent,
      latencyMs,
    });
    if (!request.userId || !request.organizationId) return answer(fail({ kind: "unauthenticated" }));

    const input = portalInput.safeParse(request.input);
    if (!input.success) return answer(fail({ kind: "invalid-body" }));
    const { intent } = input.data;

    const returnUrl = resolveReturnUrl(input.data.returnUrl, returnUrlPolicy);
    if (!returnUrl) return answer(fail({ kind: "invalid-return-url" }), provider.id, intent);

    const customer = await findCustomer(request.organizationId, request.customers);
    if (!customer) return answer(fail({ kind: "no-customer" }), provider.id, intent);
    // The active provider, or a previous one still enabled for its customers (BILLING_LEGACY_PROVIDERS).
    const target = portalProviders.get(customer.provider);
    if (!target) {
      return answer(fail({ kind: "provider-mismatch", customerProvider: customer.provider, activeProvider: provider.id }), customer.provider, intent);
    }
    const needsSubscription = target.intentsNeedingSubscription.includes(intent);
    // Never an id from the request: the user's own subscription, as our database knows it.
    const subscription = intent === "manage" ? null : await findSubscription(request.organizationId, target.id);
    if (needsSubscription && !subscription) return answer(fail({ kind: "no-subscription" }), target.id, intent);
    const portalTarget = { intent, subscriptionId: subscription?.providerSubscriptionId };

    // Only a real provider call counts: everything refused above and a cached link cost nothing.
    const call = await callProvider({
      action: "portal",
      userId: request.userId,
      limit: providerCalls,
      free: target.servesPortalFromCache?.(customer, portalTarget),
      call: () => target.createPortal(customer, { returnUrl, ...portalTarget, languages: request.languages }),
    });
    if (!call.ok) return answer(fail(call.failure), target.id, intent, call.latencyMs);
    const { url, deepLinked } = call.value;
    // SPEC: a provider without deep links opens its portal home, and says so in `code`.
    return answer({ ok: true, url, ...(deepLinked ? {} : { code: "deep_link_unsupported" }) }, target.id, intent, call.latencyMs);
  }

  /**
   * The organisation's customer at the active provider, else one at another provider (the mismatch answer), else null.
   * `known`: its customers, oldest first, when the caller already read them (the session lookup does).
   */
  async function findCustomer(organizationId: string, known?: readonly KnownCustomer[]) {
    const customers =
      known ??
      (await prisma.customer.findMany({
        where: { organizationId },
        select: { provider: true, providerCustomerId: true },
        orderBy: { createdAt: "asc" },
      }));
    return customers.find((customer) => customer.provider === provider.id) ?? customers[0] ?? null;
  }

  return {
    activeProvider: provider.id,

    /** The current organisation's billing account, for the account page. */
    findCustomer,

    /** The providers whose portals open here: the active one and any legacy ones. */
    portalProviders: [...portalProviders.keys()],

    /** Dunning: the organisation has a past-due subscription whose portal opens here (the alert on every signed-in page). */
    async hasPastDueSubscription(organizationId: string): Promise<boolean> {
      const pastDue = await prisma.subscription.findFirst({
        where: { organizationId, status: "past_due", provider: { in: [...portalProviders.keys()] } },
        select: { id: true },
      });
      return pastDue !== null;
    },

    /**
     * ShipFree's portal flow: session, body, return URL, customer row, active
     * (or legacy) provider, the user's subscription for a deep link, then the
     * provider's portal URL; recorded in the billing activity.
     */
    async open(request: PortalRequest): Promise<PortalResult> {
      const { result, providerId, intent, latencyMs } = await attempt(request);
      // A signed-out request has no one to record it for.
      if (request.organizationId && !(result.ok === false && result.failure.kind === "unauthenticated")) {
        await deps.activity?.record({ organizationId: request.organizationId, provider: providerId, action: "portal_open", intent, outcome: outcomeOf(result), latencyMs });
      }
      return result;
    },
  };
}

function fail(failure: PortalFailure): PortalResult {
  return { ok: false, failure };
}
