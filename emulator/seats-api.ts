import type { ProviderId } from "~/billing/providers/provider.ts";
import { seatCount } from "./checkout.ts";
import { jsonApiError, MEDIA_TYPE } from "./lemonsqueezy-api.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import { POLAR_SEAT_LIMITS } from "./plans.ts";
import { errorBody as polarErrorBody, invalid as polarInvalid } from "./polar-api.ts";
import { authenticate, responseHeaders, stripeError } from "./stripe-api.ts";
import type { EmulatedSubscription, SubscriptionStore } from "./subscriptions.ts";
import { lemonSqueezySubscriptionItem, polarSubscription, stripeSubscription } from "./webhook-events.ts";
import { firstHeader, jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

/** What the seat endpoints need from the lifecycle: the subscriptions, and the change that sends the update webhook. */
export type SeatsLifecycle = {
  readonly subscriptions: SubscriptionStore;
  changeSeats(subscription: EmulatedSubscription, quantity: number): EmulatedSubscription;
};

/**
 * The three providers' seat-count calls (PROVIDERS.md §5.4), in their wire formats; undefined for any other request:
 * - Stripe `POST /v1/subscriptions/:id` with `items[0][id]`, `items[0][quantity]`, `proration_behavior`;
 * - Polar `PATCH /v1/subscriptions/:id` with `{ seats, proration_behavior? }` (`SubscriptionUpdateSeats`);
 * - Lemon Squeezy `GET /v1/subscription-items?filter[subscription_id]=…`, `GET|PATCH /v1/subscription-items/:id`.
 * Each change answers with the provider's object and fires its update webhook.
 */
export function handleSeatsApi(provider: ProviderId, request: EmulatorRequest, lifecycle: SeatsLifecycle): EmulatorResponse | undefined {
  if (provider === "stripe") return stripeUpdate(request, lifecycle);
  if (provider === "polar") return polarUpdate(request, lifecycle);
  return lemonSqueezyItems(request, lifecycle);
}

// ---------------------------------------------------------------- Stripe

const SUBSCRIPTION_PATH = /^\/v1\/subscriptions\/([^/]+)$/;
/** The update parameters the emulator models; others Stripe knows are refused as unsupported, not silently ignored. */
const STRIPE_UPDATE_PARAMS = new Set(["items", "proration_behavior", "payment_behavior", "expand"]);
const PRORATION_BEHAVIORS = new Set(["create_prorations", "always_invoice", "none"]);
const PAYMENT_BEHAVIORS = new Set(["allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"]);

function stripeUpdate(request: EmulatorRequest, lifecycle: SeatsLifecycle): EmulatorResponse | undefined {
  const match = SUBSCRIPTION_PATH.exec(request.path);
  if (!match || request.method !== "POST") return undefined;
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  const invalid = (param: string, message: string, code = "parameter_invalid_string") =>
    stripeError(request, 400, { type: "invalid_request_error", code, param, message });

  const id = decodeURIComponent(match[1]!);
  const subscription = lifecycle.subscriptions.get("stripe", id);
  if (!subscription) return stripeError(request, 404, { type: "invalid_request_error", code: "resource_missing", param: "id", message: `No such subscription: '${id}'` });

  const params = new URLSearchParams(request.rawBody);
  for (const key of params.keys()) {
    const name = key.split("[")[0]!;
    if (!STRIPE_UPDATE_PARAMS.has(name)) return invalid(name, `The emulator updates seats only; "${name}" is not emulated.`, "parameter_unknown");
  }
  const proration = params.get("proration_behavior");
  if (proration !== null && !PRORATION_BEHAVIORS.has(proration)) {
    return invalid("proration_behavior", `Invalid proration_behavior: must be one of ${[...PRORATION_BEHAVIORS].join(", ")}`);
  }
  const payment = params.get("payment_behavior");
  if (payment !== null && !PAYMENT_BEHAVIORS.has(payment)) {
    return invalid("payment_behavior", `Invalid payment_behavior: must be one of ${[...PAYMENT_BEHAVIORS].join(", ")}`);
  }
  if (subscription.status !== "active" && subscription.status !== "past_due") {
    return invalid("items", "A canceled subscription can only update its cancellation_details and metadata.");
  }
  if ([...params.keys()].some((key) => key.startsWith("items[") && !key.startsWith("items[0]"))) {
    return invalid("items", "The emulator keeps one item per subscription.", "parameter_invalid_integer");
  }
  const itemId = params.get("items[0][id]");
  const quantityParam = params.get("items[0][quantity]");
  if (itemId === null) {
    // Stripe reads an entry without `id` as a NEW item (PROVIDERS.md §5.4): it needs a price, and would add a second line.
    if (params.get("items[0][price]") === null) return invalid("items[0][price]", "Missing required param: items[0][price].", "parameter_missing");
    return invalid("items[0][id]", "An item without id adds a new subscription item; the emulator keeps one item per subscription.");
  }
  if (itemId !== subscription.itemId) {
    return invalid("items[0][id]", `No such subscription item: '${itemId}'`, "resource_missing");
  }
  let quantity = subscription.quantity;
  if (quantityParam !== null) {
    const parsed = seatCount(quantityParam);
    if (parsed === undefined) return invalid("items[0][quantity]", "Invalid integer: the quantity must be a whole number from 1 to 999999.", "parameter_invalid_integer");
    quantity = parsed;
  }
  // Prorations are not priced here: the change takes effect now and the update event follows, as at Stripe.
  const changed = lifecycle.changeSeats(subscription, quantity);
  return jsonResponse(200, stripeSubscription(changed), responseHeaders(request));
}

// ---------------------------------------------------------------- Polar

const POLAR_PRORATION_BEHAVIORS = new Set(["invoice", "prorate", "next_period", "reset"]);

function polarUpdate(request: EmulatorRequest, lifecycle: SeatsLifecycle): EmulatorResponse | undefined {
  const match = SUBSCRIPTION_PATH.exec(request.path);
  if (!match || request.method !== "PATCH") return undefined;
  if (request.bearerToken === null || !/^polar_[a-z]+_\w+$/.test(request.bearerToken)) return jsonResponse(401, polarErrorBody(401));
  const subscription = lifecycle.subscriptions.get("polar", decodeURIComponent(match[1]!));
  if (!subscription) return jsonResponse(404, polarErrorBody(404));

  let body: unknown;
  try {
    body = JSON.parse(request.rawBody);
  } catch {
    return polarInvalid({ loc: ["body", 0], msg: "JSON decode error", type: "json_invalid" });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return polarInvalid({ loc: ["body"], msg: "Input should be a valid dictionary", type: "dict_type", input: body });
  }
  const { seats, proration_behavior: proration } = body as Record<string, unknown>;
  if (seats === undefined) {
    return polarInvalid({ loc: ["body", "SubscriptionUpdateSeats", "seats"], msg: "The emulator updates seats only: Field required", type: "missing", input: body });
  }
  if (typeof seats !== "number" || !Number.isInteger(seats)) {
    return polarInvalid({ loc: ["body", "SubscriptionUpdateSeats", "seats"], msg: "Input should be a valid integer", type: "int_type", input: seats });
  }
  if (proration !== undefined && proration !== null && !POLAR_PRORATION_BEHAVIORS.has(String(proration))) {
    return polarInvalid({ loc: ["body", "SubscriptionUpdateSeats", "proration_behavior"], msg: "Input should be 'invoice', 'prorate', 'next_period' or 'reset'", type: "enum", input: proration });
  }
  // The server's refusals (polar: server/polar/subscription/service.py), in its order.
  if (subscription.cancelAtPeriodEnd) {
    return jsonResponse(403, { error: "AlreadyCanceledSubscription", detail: "This subscription is already canceled or will be at the end of the period." });
  }
  if (!subscription.plan.perSeat) return jsonResponse(400, { error: "BadRequest", detail: "This subscription does not use seat-based pricing." });
  if (seats < POLAR_SEAT_LIMITS.minimum) return jsonResponse(400, { error: "BadRequest", detail: `Minimum seats is ${POLAR_SEAT_LIMITS.minimum}.` });
  if (seats > POLAR_SEAT_LIMITS.maximum) return jsonResponse(400, { error: "BadRequest", detail: `Maximum seats is ${POLAR_SEAT_LIMITS.maximum}.` });
  return jsonResponse(200, polarSubscription(lifecycle.changeSeats(subscription, seats)));
}

// ---------------------------------------------------------------- Lemon Squeezy

const ITEMS_PATH = "/v1/subscription-items";
const ITEM_PATH = /^\/v1\/subscription-items\/([^/]+)$/;

function lemonSqueezyItems(request: EmulatorRequest, lifecycle: SeatsLifecycle): EmulatorResponse | undefined {
  const id = ITEM_PATH.exec(request.path)?.[1];
  if (id === undefined && request.path !== ITEMS_PATH) return undefined;
  if (request.bearerToken === null || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(request.bearerToken)) return jsonApiError(401, "Unauthenticated.");
  if (!(firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE)) return jsonApiError(406, `The Accept header must be ${MEDIA_TYPE}.`);
  const all = lifecycle.subscriptions.list("lemonsqueezy");

  if (id === undefined) {
    if (request.method !== "GET") return jsonApiError(405, "This endpoint does not support this method in the emulator.");
    const filter = request.query.get("filter[subscription_id]");
    const items = all.filter((subscription) => filter === null || subscription.id === filter).map(lemonSqueezySubscriptionItem);
    const self = `${LEMON_SQUEEZY_API_ORIGIN}${ITEMS_PATH}`;
    return document(200, {
      meta: { page: { currentPage: 1, from: items.length ? 1 : null, lastPage: 1, perPage: 10, to: items.length || null, total: items.length } },
      jsonapi: { version: "1.0" },
      links: { first: `${self}?page[number]=1&page[size]=10`, last: `${self}?page[number]=1&page[size]=10` },
      data: items,
    });
  }

  const subscription = all.find((candidate) => candidate.itemId === decodeURIComponent(id));
  if (!subscription) return jsonApiError(404, "The requested resource could not be found.");
  if (request.method === "GET") return itemDocument(subscription);
  if (request.method !== "PATCH") return jsonApiError(405, "This endpoint does not support this method in the emulator.");

  let parsed: unknown;
  try {
    parsed = JSON.parse(request.rawBody);
  } catch {
    return jsonApiError(400, "The request body is not valid JSON.");
  }
  const data = (parsed as { data?: Record<string, unknown> } | null)?.data;
  if (typeof data !== "object" || data === null || data.type !== "subscription-items") return invalidPointer("/data/type", "The type must be subscription-items.");
  if (String(data.id) !== subscription.itemId) return invalidPointer("/data/id", "The id must match the URL's.");
  const attributes = (data.attributes ?? {}) as Record<string, unknown>;
  const quantity = typeof attributes.quantity === "number" ? seatCount(attributes.quantity) : undefined;
  if (quantity === undefined) return invalidPointer("/data/attributes/quantity", "The quantity must be an integer of at least 1.");
  for (const flag of ["invoice_immediately", "disable_prorations"]) {
    if (attributes[flag] !== undefined && typeof attributes[flag] !== "boolean") return invalidPointer(`/data/attributes/${flag}`, `The ${flag.replace("_", " ")} field must be true or false.`);
  }
  if (subscription.cancelAtPeriodEnd) return invalidPointer("/data/attributes/quantity", "A cancelled subscription's quantity cannot be changed.");
  return itemDocument(lifecycle.changeSeats(subscription, quantity));
}

function itemDocument(subscription: EmulatedSubscription): EmulatorResponse {
  const item = lemonSqueezySubscriptionItem(subscription);
  return document(200, { jsonapi: { version: "1.0" }, links: { self: item.links.self }, data: item });
}

function document(status: number, body: object): EmulatorResponse {
  return { status, headers: { "content-type": MEDIA_TYPE }, body };
}

function invalidPointer(pointer: string, detail: string): EmulatorResponse {
  return document(422, { jsonapi: { version: "1.0" }, errors: [{ detail, source: { pointer }, status: "422", title: "Unprocessable Entity" }] });
}
