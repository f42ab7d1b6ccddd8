import type { ProviderId } from "~/billing/providers/provider.ts";
import { polarCheckout, stripeCheckoutSession, type CheckoutSessions } from "./checkout-sessions.ts";
import { errorBody as polarErrorBody } from "./polar-api.ts";
import { authenticate, responseHeaders, stripeError } from "./stripe-api.ts";
import type { SubscriptionStore } from "./subscriptions.ts";
import { stripeSubscription } from "./webhook-events.ts";
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

const STRIPE_SESSION_PATH = /^\/v1\/checkout\/sessions\/([^/]+)$/;
const POLAR_CHECKOUT_PATH = /^\/v1\/checkouts\/([^/]+)$/;
const STRIPE_EXPIRE_PATH = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/;

/**
 * Stripe's `GET /v1/checkout/sessions/:id` (`checkout.sessions.retrieve`), with `expand[]=subscription` giving the
 * subscription object in place of its id, as Stripe does. Undefined for other requests.
 */
export function handleCheckoutRetrieveApi(
  provider: ProviderId,
  request: EmulatorRequest,
  sessions: CheckoutSessions,
  subscriptions: SubscriptionStore,
): EmulatorResponse | undefined {
  if (provider === "polar") return retrievePolarCheckout(request, sessions);
  if (provider !== "stripe") return undefined;
  if (request.method === "POST") return expireStripeSession(request, sessions);
  if (request.method !== "GET") return undefined;
  if (request.path === "/v1/checkout/sessions") return listStripeSessions(request, sessions);
  const id = STRIPE_SESSION_PATH.exec(request.path)?.[1];
  if (id === undefined) return undefined;
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  const session = sessions.byId("stripe", decodeURIComponent(id));
  if (!session) {
    return stripeError(request, 404, {
      type: "invalid_request_error",
      code: "resource_missing",
      param: "session",
      message: `No such checkout.session: '${decodeURIComponent(id)}'`,
    });
  }
  const body: Record<string, unknown> = stripeCheckoutSession(session);
  const expand = request.query.getAll("expand[]").concat(request.query.getAll("expand[0]"));
  const subscription = session.subscriptionId ? subscriptions.get("stripe", session.subscriptionId) : undefined;
  if (expand.includes("subscription") && subscription) body.subscription = stripeSubscription(subscription);
  return jsonResponse(200, body, responseHeaders(request));
}

/** Polar's `GET /v1/checkouts/{id}` (`checkouts.get`): the Checkout, 404 `ResourceNotFound` for an unknown id. */
function retrievePolarCheckout(request: EmulatorRequest, sessions: CheckoutSessions): EmulatorResponse | undefined {
  const id = POLAR_CHECKOUT_PATH.exec(request.path)?.[1];
  if (request.method !== "GET" || id === undefined) return undefined;
  if (request.bearerToken === null || !/^polar_[a-z]+_\w+$/.test(request.bearerToken)) return jsonResponse(401, polarErrorBody(401));
  const session = sessions.byId("polar", decodeURIComponent(id));
  return session ? jsonResponse(200, polarCheckout(session)) : jsonResponse(404, polarErrorBody(404));
}

/** `GET /v1/checkout/sessions?status=open&customer=…|customer_details[email]=…` (`checkout.sessions.list`), one page. */
function listStripeSessions(request: EmulatorRequest, sessions: CheckoutSessions): EmulatorResponse {
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  if (request.query.get("status") !== "open") {
    return stripeError(request, 400, { type: "invalid_request_error", code: "parameter_invalid", param: "status", message: "The emulator lists open sessions only." });
  }
  const data = sessions
    .openStripeSessions({ customer: request.query.get("customer"), email: request.query.get("customer_details[email]") })
    .slice(0, Number(request.query.get("limit") ?? 10))
    .map((session) => stripeCheckoutSession(session));
  return jsonResponse(200, { object: "list", data, has_more: false, url: "/v1/checkout/sessions" }, responseHeaders(request));
}

/** `POST /v1/checkout/sessions/:id/expire` (`checkout.sessions.expire`): open sessions only, as Stripe. */
function expireStripeSession(request: EmulatorRequest, sessions: CheckoutSessions): EmulatorResponse | undefined {
  const id = STRIPE_EXPIRE_PATH.exec(request.path)?.[1];
  if (id === undefined) return undefined;
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  const session = sessions.byId("stripe", decodeURIComponent(id));
  if (!session) {
    return stripeError(request, 404, { type: "invalid_request_error", code: "resource_missing", param: "session", message: `No such checkout.session: '${decodeURIComponent(id)}'` });
  }
  if (session.status !== "open") {
    return stripeError(request, 400, { type: "invalid_request_error", message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".` });
  }
  session.status = "expired";
  return jsonResponse(200, stripeCheckoutSession(session), responseHeaders(request));
}
