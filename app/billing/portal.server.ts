import { z } from "zod";
import type { PrismaClient } from "~/db/generated/client.ts";
import {
  type BillingProvider,
  type ProviderFailureKind,
  type ProviderId,
  ProviderError,
} from "./providers/provider.ts";
import { type ReturnUrlPolicy, resolveReturnUrl } from "~/http/safe-url.ts";
import { logEvent } from "~/observability/log.server.ts";

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
  | { kind: "provider-mismatch"; customerProvider: ProviderId; activeProvider: ProviderId }
  | { kind: "provider-failure"; provider: ProviderId; reason: ProviderFailureKind; retryAfterSeconds?: number };

export type PortalResult = { ok: true; url: string } | { ok: false; failure: PortalFailure };

/** What both doors (form and JSON) accept. Unknown fields are ignored, as a form may carry others. */
const portalInput = z.object({ returnUrl: z.string().optional() });

export type BillingPortal = ReturnType<typeof createBillingPortal>;

export function createBillingPortal(deps: {
  prisma: PrismaClient;
  provider: BillingProvider;
  returnUrlPolicy: ReturnUrlPolicy;
}) {
  const { prisma, provider, returnUrlPolicy } = deps;

  async function findCustomer(userId: string) {
    return prisma.customer.findUnique({
      where: { userId },
      select: { provider: true, providerCustomerId: true },
    });
  }

  return {
    activeProvider: provider.id,

    /** The signed-in user's billing account, for the account page. */
    findCustomer,

    /**
     * ShipFree's portal flow: session, body, return URL, customer row, active
     * provider, then the provider's portal URL.
     */
    async open(request: { userId: string | null; input: unknown }): Promise<PortalResult> {
      if (!request.userId) return fail({ kind: "unauthenticated" });

      const input = portalInput.safeParse(request.input);
      if (!input.success) return fail({ kind: "invalid-body" });

      const returnUrl = resolveReturnUrl(input.data.returnUrl, returnUrlPolicy);
      if (!returnUrl) return fail({ kind: "invalid-return-url" });

      const customer = await findCustomer(request.userId);
      if (!customer) return fail({ kind: "no-customer" });
      if (customer.provider !== provider.id) {
        return fail({ kind: "provider-mismatch", customerProvider: customer.provider, activeProvider: provider.id });
      }

      try {
        const { url } = await provider.createPortal(customer, { returnUrl });
        return { ok: true, url };
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        // `detail` is a fixed phrase chosen by the adapter: safe to log, unlike the provider's own text.
        logEvent("warn", "billing.portal.provider_failure", {
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

function fail(failure: PortalFailure): PortalResult {
  return { ok: false, failure };
}
