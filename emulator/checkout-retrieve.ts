import type { ProviderId } from "~/billing/providers/provider.ts";
import { stripeCheckoutSession, type CheckoutSessions } from "./checkout-sessions.ts";
import { authenticate, responseHeaders, stripeError } from "./stripe-api.ts";
import type { SubscriptionStore } from "./subscriptions.ts";
import { stripeSubscription } from "./webhook-events.ts";
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

const STRIPE_SESSION_PATH = /^\/v1\/checkout\/sessions\/([^/]+)$/;

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
  if (provider !== "stripe" || request.method !== "GET") return undefined;
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
