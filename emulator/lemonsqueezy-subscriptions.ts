import type { DeepLinkPages } from "./deep-links.ts";
import { customerDocument, jsonApiError, MEDIA_TYPE } from "./lemonsqueezy-api.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import type { PortalPages } from "./portal-pages.ts";
import type { SubscriptionStore } from "./subscriptions.ts";
import { lemonSqueezySubscription } from "./webhook-events.ts";
import { firstHeader, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

const SUBSCRIPTION_PATH = /^\/v1\/subscriptions\/([^/]+)$/;
/** The relationships `getSubscription(id, { include })` may name (lemonsqueezy.js `GetSubscriptionParams`). */
const RELATIONSHIPS = ["store", "customer", "order", "order-item", "product", "variant", "subscription-items", "subscription-invoices"];

/**
 * Lemon Squeezy's `GET /v1/subscriptions/:id` (the SDK's `getSubscription`):
 * the JSON:API subscription document, whose `urls` are this subscription's
 * own pre-signed links (emulator/deep-links.ts). Undefined for other paths.
 */
export function handleLemonSqueezySubscriptionApi(
  request: EmulatorRequest,
  subscriptions: SubscriptionStore,
  deepLinks: DeepLinkPages,
  portals: PortalPages,
): EmulatorResponse | undefined {
  const id = SUBSCRIPTION_PATH.exec(request.path)?.[1];
  if (id === undefined) return undefined;
  // Lemon Squeezy API keys are JWTs.
  if (request.bearerToken === null || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(request.bearerToken)) return jsonApiError(401, "Unauthenticated.");
  if (!(firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE)) return jsonApiError(406, `The Accept header must be ${MEDIA_TYPE}.`);
  if (request.method !== "GET") return jsonApiError(405, "This endpoint does not support this method in the emulator.");

  const include = (request.query.get("include") ?? "").split(",").filter((name) => name !== "");
  const unknown = include.find((name) => !RELATIONSHIPS.includes(name));
  if (unknown !== undefined) return jsonApiError(400, `Include path ${unknown} is not allowed.`);
  // Only the customer exists as a resource in the emulator; naming another would silently come back without it.
  const unsupported = include.find((name) => name !== "customer");
  if (unsupported !== undefined) return jsonApiError(400, `Including ${unsupported} is not emulated; only customer is.`);

  const subscription = subscriptions.get("lemonsqueezy", decodeURIComponent(id));
  if (!subscription) return jsonApiError(404, "The requested resource could not be found.");
  const data = lemonSqueezySubscription(subscription, {
    lemonSqueezyPortalUrl: (owned) => portals.signLemonSqueezyUrl(owned.customer).url,
    lemonSqueezySubscriptionUrls: (owned) => deepLinks.lemonSqueezySubscriptionUrls(owned),
  });
  const included = include.length > 0 ? { included: [customerDocument(subscription.customer, portals).data] } : {};
  return {
    status: 200,
    headers: { "content-type": MEDIA_TYPE },
    body: { jsonapi: { version: "1.0" }, links: { self: `${LEMON_SQUEEZY_API_ORIGIN}/v1/subscriptions/${subscription.id}` }, data, ...included },
  };
}
