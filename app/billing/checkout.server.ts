import { z } from "zod";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { BillingResult } from "./billing-endpoint.server.ts";
import type { BillingFailure } from "./portal-failures.ts";
import { findPlan } from "./plans.ts";
import { type BillingProvider, ProviderError } from "./providers/provider.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "./subscription-status.ts";

/** Where the provider sends the user after paying: the account page says the subscription is being confirmed. */
export const CHECKOUT_SUCCESS_PATH = "/account?checkout=success";
const PRICING_PATH = "/pricing";

/** What both doors (form and JSON) accept. Unknown fields are ignored, as a form may carry others. */
const checkoutInput = z.object({ plan: z.string() });

export type BillingCheckout = ReturnType<typeof createBillingCheckout>;

/**
 * Starting a subscription (SPEC: Plans and checkout): the signed-in user, a
 * plan from the catalogue, no live subscription at the active provider yet,
 * then the provider's hosted checkout carrying the user's id.
 */
export function createBillingCheckout(deps: { prisma: PrismaClient; provider: BillingProvider; appOrigin: string }) {
  const { prisma, provider, appOrigin } = deps;

  return {
    async start(request: { userId: string | null; input: unknown }): Promise<BillingResult> {
      if (!request.userId) return fail({ kind: "unauthenticated" });

      const input = checkoutInput.safeParse(request.input);
      if (!input.success) return fail({ kind: "invalid-body" });
      const plan = findPlan(input.data.plan);
      if (!plan) return fail({ kind: "unknown-plan" });

      const user = await prisma.user.findUnique({
        where: { id: request.userId },
        select: {
          id: true,
          email: true,
          customers: { where: { provider: provider.id }, select: { providerCustomerId: true } },
          subscriptions: {
            where: { provider: provider.id, status: { in: [...LIVE_SUBSCRIPTION_STATUSES] } },
            select: { id: true },
            take: 1,
          },
        },
      });
      if (!user) return fail({ kind: "unauthenticated" });
      // A second checkout would charge twice: plan changes belong in the portal.
      if (user.subscriptions.length > 0) return fail({ kind: "already-subscribed" });

      try {
        const { url } = await provider.createCheckout({
          plan: plan.id,
          user: { id: user.id, email: user.email },
          providerCustomerId: user.customers[0]?.providerCustomerId,
          successUrl: new URL(CHECKOUT_SUCCESS_PATH, appOrigin).href,
          cancelUrl: new URL(PRICING_PATH, appOrigin).href,
        });
        return { ok: true, url };
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        // `detail` is a fixed phrase chosen by the adapter: safe to log, unlike the provider's own text.
        logEvent("warn", "billing.checkout.provider_failure", {
          provider: error.provider,
          reason: error.kind,
          detail: error.detail,
          userId: request.userId,
        });
        return fail({
          kind: "provider-failure",
          provider: error.provider,
          reason: error.kind,
          retryAfterSeconds: error.retryAfterSeconds,
        });
      }
    },
  };
}

function fail(failure: BillingFailure): BillingResult {
  return { ok: false, failure };
}
