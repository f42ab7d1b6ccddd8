import { authenticate, responseHeaders, stripeError } from "./stripe-api.ts";
import type { SubscriptionStore } from "./subscriptions.ts";
import { stripeSubscription } from "./webhook-events.ts";
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

const SUBSCRIPTION_PATH = /^\/v1\/subscriptions\/([^/]+)$/;

/**
 * Stripe's `GET /v1/subscriptions/:id` (the SDK's `subscriptions.retrieve`): the same `subscription` object its
 * webhooks carry, as it is now. Undefined for other paths, which Stripe's other endpoints answer.
 */
export function handleStripeSubscriptionApi(request: EmulatorRequest, subscriptions: SubscriptionStore): EmulatorResponse | undefined {
  const id = SUBSCRIPTION_PATH.exec(request.path)?.[1];
  if (id === undefined || request.method !== "GET") return undefined;
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  const subscription = subscriptions.get("stripe", decodeURIComponent(id));
  if (!subscription) {
    return stripeError(request, 404, {
      type: "invalid_request_error",
      code: "resource_missing",
      param: "id",
      message: `No such subscription: '${decodeURIComponent(id)}'`,
    });
  }
  return jsonResponse(200, stripeSubscription(subscription), responseHeaders(request));
}
