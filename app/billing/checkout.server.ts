import { z } from "zod";
import { logEvent } from "~/observability/log.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import type { RateLimit } from "~/rate-limits/rate-limits.server.ts";
import { type BillingActivity, outcomeOf } from "./activity.server.ts";
import type { BillingRequest, BillingResult } from "./billing-endpoint.server.ts";
import type { BillingFailure } from "./portal-failures.ts";
import { findPlan, isPerSeat } from "./plans.ts";
import { callProvider } from "./provider-call.server.ts";
import type { BillingProvider } from "./providers/provider.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "./subscription-status.ts";

/** Where the provider sends the user after paying: the account page says the subscription is being confirmed. */
export const CHECKOUT_SUCCESS_PATH = "/account?checkout=success";
const PRICING_PATH = "/pricing";

/** What both doors (form and JSON) accept. Unknown fields are ignored, as a form may carry others. */
const checkoutInput = z.object({ plan: z.string() });

/** The languages are optional: only Stripe takes one. */
type CheckoutStartRequest = Omit<BillingRequest, "languages"> & Partial<Pick<BillingRequest, "languages">>;

export type BillingCheckout = ReturnType<typeof createBillingCheckout>;

/**
 * Starting a subscription (SPEC: Plans and checkout): the signed-in user, a
 * plan from the catalogue, no live subscription at the active provider yet,
 * then the provider's hosted checkout carrying the user's id.
 */
export function createBillingCheckout(deps: {
  prisma: PrismaClient;
  provider: BillingProvider;
  appOrigin: string;
  /** SPEC "Rate limits": provider calls per user, shared with the portal; none when left out. */
  providerCalls?: RateLimit;
  /** Where every checkout start is recorded; nowhere when left out. */
  activity?: BillingActivity;
}) {
  const { prisma, provider, appOrigin } = deps;

  return {
    async start(request: CheckoutStartRequest): Promise<BillingResult> {
      const timing: { plan: string | null; latencyMs: number | null } = { plan: null, latencyMs: null };
      const result = await attempt(request, timing);
      if (request.organizationId && !(result.ok === false && result.failure.kind === "unauthenticated")) {
        await deps.activity?.record({
          organizationId: request.organizationId,
          provider: provider.id,
          action: "checkout_start",
          intent: timing.plan,
          outcome: outcomeOf(result),
          latencyMs: timing.latencyMs,
        });
      }
      return result;
    },
  };

  async function attempt(
    request: CheckoutStartRequest,
    timing: { plan: string | null; latencyMs: number | null },
  ): Promise<BillingResult> {
    if (!request.userId || !request.organizationId) return fail({ kind: "unauthenticated" });

    const input = checkoutInput.safeParse(request.input);
    if (!input.success) return fail({ kind: "invalid-body" });
    const plan = findPlan(input.data.plan);
    if (!plan) return fail({ kind: "unknown-plan" });
    timing.plan = plan.id;

    const user = await prisma.user.findUnique({ where: { id: request.userId }, select: { id: true, email: true } });
    const organization = await prisma.organization.findUnique({
      where: { id: request.organizationId },
      select: {
        id: true,
        customers: { where: { provider: provider.id }, select: { providerCustomerId: true } },
        subscriptions: {
          where: { provider: provider.id, status: { in: [...LIVE_SUBSCRIPTION_STATUSES] } },
          select: { id: true },
          take: 1,
        },
        // A per-seat plan checks out with one seat per member.
        memberships: { select: { userId: true } },
        // One trial per billing owner, at any provider: any subscription that ever had one. In the same statement.
        // oxlint-disable-next-line no-underscore-dangle -- Prisma's name for relation counts
        _count: { select: { subscriptions: { where: { hadTrial: true } } } },
      },
    });
    if (!user || !organization) return fail({ kind: "unauthenticated" });
    // A second checkout would charge twice: plan changes belong in the portal.
    if (organization.subscriptions.length > 0) return fail({ kind: "already-subscribed" });
    // The checkout carries the organisation's id (webhooks link by it) and the buyer's email.
    const owner = { id: organization.id, email: user.email };
    const customers = organization.customers;
    // oxlint-disable-next-line no-underscore-dangle -- Prisma's name for relation counts
    const trialDays = plan.trialDays > 0 && organization._count.subscriptions === 0 ? plan.trialDays : 0;

    const call = await callProvider({
      action: "checkout",
      userId: user.id,
      limit: deps.providerCalls,
      call: () =>
        provider.createCheckout({
          plan: plan.id,
          owner,
          ...(isPerSeat(plan) ? { quantity: Math.max(1, organization.memberships.length) } : {}),
          providerCustomerId: customers[0]?.providerCustomerId,
          successUrl: new URL(CHECKOUT_SUCCESS_PATH, appOrigin).href,
          cancelUrl: new URL(PRICING_PATH, appOrigin).href,
          languages: request.languages,
          trialDays,
        }),
    });
    timing.latencyMs = call.latencyMs;
    if (!call.ok) return fail(call.failure);

    // One live subscription per owner (SPEC "Account page"): once this checkout exists, the user's earlier one,
    // still open in another tab, is expired where the provider allows it. Best effort: a failure here is logged
    // and this checkout goes ahead.
    if (provider.expireOpenCheckouts && call.value.reference) {
      const keep = call.value.reference;
      const expired = await callProvider({
        action: "checkout",
        userId: user.id,
        free: true,
        call: () => provider.expireOpenCheckouts!(owner, { keep, providerCustomerId: customers[0]?.providerCustomerId }),
      });
      if (expired.ok && expired.value > 0) logEvent("info", "billing.checkout.previous_expired", { provider: provider.id, count: expired.value });
    }
    return { ok: true, url: call.value.url };
  }
}

function fail(failure: BillingFailure): BillingResult {
  return { ok: false, failure };
}
