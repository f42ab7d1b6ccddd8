import { createHash } from "node:crypto";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { jsonApiError, MEDIA_TYPE } from "./lemonsqueezy-api.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import { LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import { errorBody as polarErrorBody } from "./polar-api.ts";
import { escapeHtml, PAGE_HEADERS } from "./portal-pages.ts";
import type { EmulatedSubscription, SubscriptionStore } from "./subscriptions.ts";
import { lemonSqueezyInvoice, lemonSqueezyOrder, lemonSqueezySubscription, type EventContext } from "./webhook-events.ts";
import { firstHeader, jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

// Issue 16, items 5 and 9 for Polar and Lemon Squeezy: the calls the app makes to confirm a checkout on return and
// to list an owner's invoices, in each provider's shape (PROVIDERS.md §5.3, §5.6; the SDKs' types):
// - Polar `GET /v1/orders/` (`customer_id`, `limit`; `{items, pagination}`, newest first) and
//   `GET /v1/orders/{id}/receipt` (`{url}`, presigned; 404 until the order has a receipt number);
// - Lemon Squeezy `GET /v1/orders/{id}` (`include=subscriptions` puts the order's subscription in `included`)
//   and `GET /v1/subscription-invoices` (`filter[subscription_id]`, `page[size]`; JSON:API, newest first).
// Both providers' orders are one per subscription and billing period here, as the Stripe invoices are.

const POLAR_ORDERS = "/v1/orders/";
const POLAR_RECEIPT = /^\/v1\/orders\/([^/]+)\/receipt$/;
const LEMON_SQUEEZY_ORDER = /^\/v1\/orders\/([^/]+)$/;
const LEMON_SQUEEZY_INVOICES = "/v1/subscription-invoices";
const INVOICE_PAGE = /^\/invoices\/(polar|lemonsqueezy)\/([\w-]+)$/;

export function handleOrdersAndInvoicesApi(
  provider: ProviderId,
  request: EmulatorRequest,
  subscriptions: SubscriptionStore,
  context: EventContext,
  origin: string,
): EmulatorResponse | undefined {
  if (request.method !== "GET") return undefined;
  if (provider === "polar") return polar(request, subscriptions, origin);
  if (provider === "lemonsqueezy") return lemonSqueezy(request, subscriptions, context, origin);
  return undefined;
}

/** `GET /invoices/<polar|lemonsqueezy>/<id>`: the receipt or invoice page a link from the account page opens. */
export function invoicePage(request: EmulatorRequest): EmulatorResponse {
  const match = INVOICE_PAGE.exec(request.path);
  if (!match) return { status: 404, headers: PAGE_HEADERS, body: "No such invoice." };
  const title = match[1] === "polar" ? "Receipt" : "Invoice";
  return {
    status: 200,
    headers: PAGE_HEADERS,
    body: `<!doctype html><title>${title}</title><h1>${title} ${escapeHtml(match[2]!)}</h1><p>Emulated ${match[1] === "polar" ? "Polar" : "Lemon Squeezy"}</p>`,
  };
}

/** The order of a subscription's current period: paid, or pending while the period's payment is failing. */
function periodOrder(subscription: EmulatedSubscription) {
  const digest = createHash("sha256").update(`${subscription.id}:${subscription.currentPeriodStart}`).digest("hex");
  const id = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-a${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  const paid = subscription.status !== "past_due";
  return { id, paid, subscription };
}

function polar(request: EmulatorRequest, subscriptions: SubscriptionStore, origin: string): EmulatorResponse | undefined {
  const receiptOf = POLAR_RECEIPT.exec(request.path)?.[1];
  if (request.path !== POLAR_ORDERS && receiptOf === undefined) return undefined;
  if (request.bearerToken === null || !/^polar_[a-z]+_\w+$/.test(request.bearerToken)) return jsonResponse(401, polarErrorBody(401));
  const orders = subscriptions
    .list("polar")
    .toSorted((a, b) => b.currentPeriodStart - a.currentPeriodStart)
    .map(periodOrder);
  if (receiptOf !== undefined) {
    const order = orders.find((candidate) => candidate.id === decodeURIComponent(receiptOf));
    // Polar has a receipt only once the order is paid (its `receipt_number` is set).
    if (!order || !order.paid) return jsonResponse(404, polarErrorBody(404));
    return jsonResponse(200, { url: `${origin}/invoices/polar/${order.id}` });
  }
  const limit = Number(request.query.get("limit") ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return jsonResponse(422, { detail: [{ loc: ["query", "limit"], msg: "Input should be less than or equal to 100", type: "less_than_equal" }] });
  }
  const customers = request.query.getAll("customer_id");
  const listed = orders.filter((order) => customers.length === 0 || customers.includes(order.subscription.customer.id));
  return jsonResponse(200, {
    items: listed.slice(0, limit).map(polarOrder),
    pagination: { total_count: listed.length, max_page: Math.max(1, Math.ceil(listed.length / limit)) },
  });
}

/** Polar's `Order` (the fields the SDK's model lists that an app reads; models `Order`). */
function polarOrder({ id, paid, subscription }: ReturnType<typeof periodOrder>) {
  const { plan } = subscription;
  const created = new Date(subscription.currentPeriodStart).toISOString();
  const first = subscription.currentPeriodStart === subscription.createdAt;
  return {
    id,
    created_at: created,
    modified_at: null,
    status: paid ? "paid" : "pending",
    paid,
    subtotal_amount: plan.amount,
    discount_amount: 0,
    net_amount: plan.amount,
    tax_amount: 0,
    total_amount: plan.amount,
    applied_balance_amount: 0,
    due_amount: paid ? 0 : plan.amount,
    refunded_amount: 0,
    refunded_tax_amount: 0,
    currency: plan.currency,
    billing_reason: first ? "subscription_create" : "subscription_cycle",
    billing_name: subscription.customer.name,
    billing_address: null,
    invoice_number: `EMU-${id.slice(0, 8).toUpperCase()}`,
    is_invoice_generated: false,
    receipt_number: paid ? `RCPT-${id.slice(0, 8).toUpperCase()}` : null,
    seats: null,
    units: null,
    customer_id: subscription.customer.id,
    product_id: plan.polarProductId,
    discount_id: null,
    subscription_id: subscription.id,
    checkout_id: first ? subscription.checkoutId : null,
    metadata: {},
    custom_field_data: {},
    items: [{ id: `${id.slice(0, 24)}items`, label: plan.name, amount: plan.amount, tax_amount: 0, proration: false, product_price_id: null }],
    description: `${plan.name} subscription`,
  };
}

function document(body: object): EmulatorResponse {
  return { status: 200, headers: { "content-type": MEDIA_TYPE }, body: { jsonapi: { version: "1.0" }, ...body } };
}

function lemonSqueezy(request: EmulatorRequest, subscriptions: SubscriptionStore, context: EventContext, origin: string): EmulatorResponse | undefined {
  const orderId = LEMON_SQUEEZY_ORDER.exec(request.path)?.[1];
  if (orderId === undefined && request.path !== LEMON_SQUEEZY_INVOICES) return undefined;
  if (request.bearerToken === null || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(request.bearerToken)) return jsonApiError(401, "Unauthenticated.");
  if (!(firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE)) return jsonApiError(406, `The Accept header must be ${MEDIA_TYPE}.`);

  if (orderId !== undefined) {
    const include = (request.query.get("include") ?? "").split(",").filter((name) => name !== "");
    const unsupported = include.find((name) => name !== "subscriptions");
    if (unsupported !== undefined) return jsonApiError(400, `Including ${unsupported} is not emulated; only subscriptions is.`);
    const subscription = subscriptions.list("lemonsqueezy").find((candidate) => candidate.orderId === decodeURIComponent(orderId));
    if (!subscription) return jsonApiError(404, "The requested resource could not be found.");
    const included = include.length > 0 ? { included: [lemonSqueezySubscription(subscription, context)] } : {};
    return document({ links: { self: `${LEMON_SQUEEZY_API_ORIGIN}/v1/orders/${subscription.orderId}` }, data: lemonSqueezyOrder(subscription), ...included });
  }

  const size = Number(request.query.get("page[size]") ?? 10);
  if (!Number.isInteger(size) || size < 1 || size > 100) return jsonApiError(400, "page[size] must be from 1 to 100.");
  const subscriptionId = request.query.get("filter[subscription_id]");
  const storeId = request.query.get("filter[store_id]");
  const data = subscriptions
    .list("lemonsqueezy")
    .filter((subscription) => (subscriptionId === null || subscription.id === subscriptionId) && (storeId === null || storeId === LEMON_SQUEEZY_STORE_ID))
    .toSorted((a, b) => b.currentPeriodStart - a.currentPeriodStart)
    .slice(0, size)
    .map((subscription) => {
      const paid = subscription.status !== "past_due";
      const invoice = lemonSqueezyInvoice(subscription, paid ? "paid" : "pending", subscription.currentPeriodStart === subscription.createdAt ? "initial" : "renewal");
      // Signed and non-expiring at Lemon Squeezy; null while pending.
      const url = paid ? `${origin}/invoices/lemonsqueezy/${invoice.id}` : null;
      return { ...invoice, attributes: { ...invoice.attributes, created_at: new Date(subscription.currentPeriodStart).toISOString(), urls: { invoice_url: url } } };
    });
  const total = data.length;
  return document({
    meta: { page: { currentPage: 1, from: total === 0 ? null : 1, lastPage: 1, perPage: size, to: total === 0 ? null : total, total } },
    links: { first: `${LEMON_SQUEEZY_API_ORIGIN}${LEMON_SQUEEZY_INVOICES}`, last: `${LEMON_SQUEEZY_API_ORIGIN}${LEMON_SQUEEZY_INVOICES}` },
    data,
  });
}
