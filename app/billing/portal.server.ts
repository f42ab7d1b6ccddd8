import { z } from "zod";
import type { PaymentProvider, PrismaClient } from "~/db/generated/client.ts";
import {
  type BillingProvider,
  type ProviderFailureKind,
  type ProviderId,
  ProviderError,
} from "./providers/provider.ts";
import { type ReturnUrlPolicy, resolveReturnUrl } from "~/http/safe-url.ts";
import { logEvent } from "~/observability/log.server.ts";
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
  | { kind: "provider-mismatch"; customerProvider: ProviderId; activeProvider: ProviderId }
  | { kind: "too-many-requests"; retryAfterSeconds: number }
  | { kind: "provider-failure"; provider: ProviderId; reason: ProviderFailureKind; retryAfterSeconds?: number };

export type PortalResult = { ok: true; url: string } | { ok: false; failure: PortalFailure };

/** What both doors (form and JSON) accept. Unknown fields are ignored, as a form may carry others. */
const portalInput = z.object({ returnUrl: z.string().optional() });

/** A customer row as the portal reads it. */
type KnownCustomer = { provider: PaymentProvider; providerCustomerId: string };

export type BillingPortal = ReturnType<typeof createBillingPortal>;

export function createBillingPortal(deps: {
  prisma: PrismaClient;
  provider: BillingProvider;
  returnUrlPolicy: ReturnUrlPolicy;
  /** SPEC "Rate limits": provider calls per user; none when left out. */
  providerCalls?: RateLimit;
}) {
  const { prisma, provider, returnUrlPolicy } = deps;
  const providerCalls = deps.providerCalls ?? NO_LIMIT;

  /**
   * The user's customer at the active provider, else one at another provider (the mismatch answer), else null.
   * `known`: the user's customers, oldest first, when the caller already read them (the session lookup does).
   */
  async function findCustomer(userId: string, known?: readonly KnownCustomer[]) {
    const customers =
      known ??
      (await prisma.customer.findMany({
        where: { userId },
        select: { provider: true, providerCustomerId: true },
        orderBy: { createdAt: "asc" },
      }));
    return customers.find((customer) => customer.provider === provider.id) ?? customers[0] ?? null;
  }

  return {
    activeProvider: provider.id,

    /** The signed-in user's billing account, for the account page. */
    findCustomer,

    /**
     * ShipFree's portal flow: session, body, return URL, customer row, active
     * provider, then the provider's portal URL.
     */
    async open(request: { userId: string | null; input: unknown; customers?: readonly KnownCustomer[] }): Promise<PortalResult> {
      if (!request.userId) return fail({ kind: "unauthenticated" });

      const input = portalInput.safeParse(request.input);
      if (!input.success) return fail({ kind: "invalid-body" });

      const returnUrl = resolveReturnUrl(input.data.returnUrl, returnUrlPolicy);
      if (!returnUrl) return fail({ kind: "invalid-return-url" });

      const customer = await findCustomer(request.userId, request.customers);
      if (!customer) return fail({ kind: "no-customer" });
      if (customer.provider !== provider.id) {
        return fail({ kind: "provider-mismatch", customerProvider: customer.provider, activeProvider: provider.id });
      }
      // Only a real provider call counts: everything refused above and a cached link cost nothing.
      if (!provider.servesPortalFromCache?.(customer)) {
        const limited = await providerCalls.consume([request.userId]);
        if (limited) return fail({ kind: "too-many-requests", ...limited });
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
