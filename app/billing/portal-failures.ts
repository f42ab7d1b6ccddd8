import { BILLING_FORBIDDEN_MESSAGE } from "~/orgs/authorization.ts";
import type { PortalFailure } from "./portal.server.ts";
import { PROVIDER_NAMES, type ProviderFailureKind } from "./providers/provider.ts";

/** What the user was doing: the same failure reads differently on the pricing page. */
export type BillingAction = "portal" | "checkout";

/** Ways starting a checkout can fail beyond those it shares with the portal. */
export type CheckoutFailure = { kind: "unknown-plan" } | { kind: "already-subscribed" };

/** A signed-in member whose role does not manage billing (app/orgs/authorization.ts decides). */
export type AccessFailure = { kind: "forbidden" };

/** Every failure of a billing action (portal or checkout): one closed union, one table below. */
export type BillingFailure = PortalFailure | CheckoutFailure | AccessFailure;

/**
 * Every way a billing action can fail, as the two audiences see it: a JSON
 * client (status, exact `error` string from the SPEC, stable `code`) and a
 * person on the account or pricing page (a sentence with a next step).
 */
export type FailureAnswer = {
  status: number;
  error: string;
  code: string;
  message: string;
  retryAfterSeconds?: number;
};

type Describe<K extends BillingFailure["kind"]> = (
  failure: Extract<BillingFailure, { kind: K }>,
  action: BillingAction,
) => FailureAnswer;

const TRY_AGAIN = "Please try again in a few minutes. If it keeps happening, contact support.";

const providerFailures = {
  "not-configured": {
    status: 503,
    error: "Billing portal is not configured",
    message: "The billing portal is not set up yet. Please contact support.",
  },
  auth: {
    status: 503,
    error: "Payment provider is not configured",
    message: `Billing is temporarily unavailable. ${TRY_AGAIN}`,
  },
  "unknown-customer": {
    status: 502,
    error: "Payment provider does not know this customer",
    message: "We could not find your billing account at our payment provider. Please contact support.",
  },
  "no-portal": {
    status: 502,
    error: "No customer portal is available for this customer",
    message: "There is no subscription to manage yet. Once you subscribe, you can manage it here.",
  },
  "rate-limited": {
    status: 503,
    error: "Payment provider is busy",
    message: "Our payment provider is busy right now. Please try again in a minute.",
  },
  timeout: {
    status: 504,
    error: "Payment provider timed out",
    message: `Our payment provider did not answer in time. ${TRY_AGAIN}`,
  },
  unavailable: {
    status: 502,
    error: "Payment provider is unavailable",
    message: `Our payment provider is not answering right now. ${TRY_AGAIN}`,
  },
  "circuit-open": {
    status: 503,
    error: "Payment provider is unavailable",
    message: `Our payment provider is not answering right now. ${TRY_AGAIN}`,
  },
  refused: {
    status: 502,
    error: "Payment provider refused the request",
    message: `Our payment provider could not open the billing portal. ${TRY_AGAIN}`,
  },
} satisfies Record<ProviderFailureKind, Omit<FailureAnswer, "code">>;

/** Where the checkout's sentence differs from the portal's (the JSON answer is the same). */
const checkoutMessages: Partial<Record<ProviderFailureKind, string>> = {
  "not-configured": "Subscriptions are not set up yet. Please contact support.",
  "unknown-customer": "We could not find your billing account at our payment provider. Please contact support.",
  refused: `Our payment provider could not start the checkout. ${TRY_AGAIN}`,
};

const describers: { [K in BillingFailure["kind"]]: Describe<K> } = {
  unauthenticated: (_failure, action) => ({
    status: 401,
    error: "Unauthorized",
    code: "unauthenticated",
    message: action === "checkout" ? "Please log in to subscribe." : "Please log in to manage billing.",
  }),
  forbidden: () => ({
    status: 403,
    error: "Forbidden",
    code: "forbidden",
    message: BILLING_FORBIDDEN_MESSAGE,
  }),
  "invalid-body": (_failure, action) => ({
    status: 400,
    error: "Invalid request body",
    code: "invalid_body",
    message:
      action === "checkout"
        ? "That request could not be read. Please choose a plan again."
        : "That request could not be read. Please use the Manage billing button again.",
  }),
  "unknown-plan": () => ({
    status: 400,
    error: "Unknown plan",
    code: "unknown_plan",
    message: "That plan does not exist. Please choose one of the plans below.",
  }),
  "already-subscribed": () => ({
    status: 409,
    error: "Already subscribed",
    code: "already_subscribed",
    message: "You already have a subscription. You can change your plan in the billing portal.",
  }),
  "invalid-return-url": () => ({
    status: 400,
    error: "Invalid return URL",
    code: "invalid_return_url",
    message: "That return address is not allowed. Please use the Manage billing button on this page.",
  }),
  "no-customer": () => ({
    status: 404,
    error: "No customer found",
    code: "no_customer",
    message: "Billing is not set up for this account yet. Subscribe to a plan first, or contact support.",
  }),
  "no-subscription": () => ({
    status: 400,
    error: "No subscription",
    code: "no_subscription",
    message: "You have no subscription to change yet. Choose a plan first, then manage it here.",
  }),
  "provider-mismatch": ({ customerProvider, activeProvider }) => ({
    status: 400,
    error: `Customer provider (${customerProvider}) does not match active provider (${activeProvider})`,
    code: "provider_mismatch",
    message: `Your billing account is with ${PROVIDER_NAMES[customerProvider]}, but billing is now handled by ${PROVIDER_NAMES[activeProvider]}. Please contact support to move your subscription.`,
  }),
  "too-many-requests": ({ retryAfterSeconds }, action) => ({
    status: 429,
    error: "Too Many Requests",
    code: "too_many_requests",
    message:
      action === "checkout"
        ? "You started several checkouts in a short while. Please wait a minute and try again."
        : "You opened the billing portal many times in a short while. Please wait a minute and try again.",
    retryAfterSeconds,
  }),
  "provider-failure": ({ reason, retryAfterSeconds }, action) => ({
    ...providerFailures[reason],
    ...(action === "checkout" && checkoutMessages[reason] ? { message: checkoutMessages[reason] } : {}),
    code: `provider_${reason.replaceAll("-", "_")}`,
    retryAfterSeconds,
  }),
};

export function describeFailure(failure: BillingFailure, action: BillingAction = "portal"): FailureAnswer {
  return (describers[failure.kind] as Describe<typeof failure.kind>)(failure, action);
}
