import type { ProviderId } from "~/billing/providers/provider.ts";
import { errorBody as polarErrorBody } from "./polar-api.ts";
import { jsonApiError, MEDIA_TYPE } from "./lemonsqueezy-api.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import { LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import { authenticate, responseHeaders, stripeError } from "./stripe-api.ts";
import type { EmulatedSubscription, SubscriptionStore } from "./subscriptions.ts";
import { lemonSqueezySubscription, polarSubscription, stripeSubscription, type EventContext } from "./webhook-events.ts";
import { firstHeader, jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

const STRIPE_ONE = /^\/v1\/subscriptions\/([^/]+)$/;
const POLAR_ONE = /^\/v1\/subscriptions\/([^/]+)\/?$/;

/**
 * The providers' list and retrieve calls for subscriptions, in their own shapes and with their own
 * pagination (PROVIDERS.md §5.1, §5.2): Stripe `GET /v1/subscriptions` (a list object, `limit` 1-100,
 * `starting_after`, `has_more`; canceled ones only with `status=all`) and `GET /v1/subscriptions/:id`;
 * Polar `GET /v1/subscriptions/` (`customer_id`, `page`, `limit`; `{items, pagination}`) and
 * `GET /v1/subscriptions/:id`; Lemon Squeezy `GET /v1/subscriptions` (`filter[...]`, `page[number]`,
 * `page[size]`; JSON:API with `meta.page` and `links`). Lemon Squeezy's single subscription is answered in
 * lemonsqueezy-subscriptions.ts. Undefined when the request is none of these.
 */
export function handleSubscriptionLists(
  provider: ProviderId,
  request: EmulatorRequest,
  subscriptions: SubscriptionStore,
  context: EventContext,
): EmulatorResponse | undefined {
  if (request.method !== "GET") return undefined;
  if (provider === "stripe") return stripe(request, subscriptions);
  if (provider === "polar") return polar(request, subscriptions);
  return request.path === "/v1/subscriptions" ? lemonSqueezy(request, subscriptions, context) : undefined;
}

/** Newest first, as all three providers list them; ties broken by id so pages never overlap. */
function newestFirst(list: EmulatedSubscription[]): EmulatedSubscription[] {
  return list.toSorted((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function stripe(request: EmulatorRequest, subscriptions: SubscriptionStore): EmulatorResponse | undefined {
  const one = STRIPE_ONE.exec(request.path)?.[1];
  if (request.path !== "/v1/subscriptions" && one === undefined) return undefined;
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  if (one !== undefined) {
    const subscription = subscriptions.get("stripe", decodeURIComponent(one));
    if (!subscription) {
      return stripeError(request, 404, {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "id",
        message: `No such subscription: '${decodeURIComponent(one)}'`,
      });
    }
    return jsonResponse(200, stripeSubscription(subscription), responseHeaders(request));
  }
  const query = request.query;
  const limit = Number(query.get("limit") ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return stripeError(request, 400, {
      type: "invalid_request_error",
      code: "parameter_invalid_integer",
      param: "limit",
      message: "This value must be between 1 and 100.",
    });
  }
  const customer = query.get("customer");
  const status = query.get("status");
  let list = newestFirst(subscriptions.list("stripe")).filter(
    (subscription) =>
      (customer === null || subscription.customer.id === customer) &&
      // Without a status Stripe leaves canceled subscriptions out; the emulator's never are.
      (status === null || status === "all" || status === stripeSubscription(subscription).status),
  );
  const after = query.get("starting_after");
  if (after !== null) {
    const index = list.findIndex((subscription) => subscription.id === after);
    if (index === -1) {
      return stripeError(request, 400, {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "starting_after",
        message: `No such subscription: '${after}'`,
      });
    }
    list = list.slice(index + 1);
  }
  const page = list.slice(0, limit);
  return jsonResponse(
    200,
    { object: "list", url: "/v1/subscriptions", has_more: list.length > limit, data: page.map(stripeSubscription) },
    responseHeaders(request),
  );
}

function polar(request: EmulatorRequest, subscriptions: SubscriptionStore): EmulatorResponse | undefined {
  const one = request.path === "/v1/subscriptions/" ? undefined : POLAR_ONE.exec(request.path)?.[1];
  if (request.path !== "/v1/subscriptions/" && one === undefined) return undefined;
  if (request.bearerToken === null || !/^polar_[a-z]+_\w+$/.test(request.bearerToken)) return jsonResponse(401, polarErrorBody(401));
  if (one !== undefined) {
    const subscription = subscriptions.get("polar", decodeURIComponent(one));
    return subscription ? jsonResponse(200, polarSubscription(subscription)) : jsonResponse(404, polarErrorBody(404));
  }
  const query = request.query;
  const page = Number(query.get("page") ?? 1);
  const limit = Number(query.get("limit") ?? 10);
  if (!Number.isInteger(page) || page < 1) {
    return jsonResponse(422, { detail: [{ loc: ["query", "page"], msg: "Input should be greater than 0", type: "greater_than" }] });
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return jsonResponse(422, { detail: [{ loc: ["query", "limit"], msg: "Input should be less than or equal to 100", type: "less_than_equal" }] });
  }
  const customers = query.getAll("customer_id");
  const list = newestFirst(subscriptions.list("polar")).filter(
    (subscription) => customers.length === 0 || customers.includes(subscription.customer.id),
  );
  return jsonResponse(200, {
    items: list.slice((page - 1) * limit, page * limit).map(polarSubscription),
    pagination: { total_count: list.length, max_page: Math.max(1, Math.ceil(list.length / limit)) },
  });
}

function lemonSqueezy(request: EmulatorRequest, subscriptions: SubscriptionStore, context: EventContext): EmulatorResponse {
  if (request.bearerToken === null || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(request.bearerToken)) return jsonApiError(401, "Unauthenticated.");
  if (!(firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE)) return jsonApiError(406, `The Accept header must be ${MEDIA_TYPE}.`);
  const query = request.query;
  const number = Number(query.get("page[number]") ?? 1);
  const size = Number(query.get("page[size]") ?? 10);
  if (!Number.isInteger(number) || number < 1 || !Number.isInteger(size) || size < 1 || size > 100) {
    return jsonApiError(400, "page[number] must be at least 1 and page[size] from 1 to 100.");
  }
  const storeId = query.get("filter[store_id]");
  const email = query.get("filter[user_email]");
  const status = query.get("filter[status]");
  const list = newestFirst(subscriptions.list("lemonsqueezy")).filter((subscription) => {
    const attributes = lemonSqueezySubscription(subscription, context).attributes as { status: string };
    return (
      (storeId === null || storeId === LEMON_SQUEEZY_STORE_ID) &&
      (email === null || subscription.customer.email === email) &&
      (status === null || attributes.status === status)
    );
  });
  const lastPage = Math.max(1, Math.ceil(list.length / size));
  const items = list.slice((number - 1) * size, number * size);
  const from = items.length === 0 ? null : (number - 1) * size + 1;
  const link = (page: number) => {
    const params = new URLSearchParams(query);
    params.set("page[number]", String(page));
    params.set("page[size]", String(size));
    return `${LEMON_SQUEEZY_API_ORIGIN}/v1/subscriptions?${params}`;
  };
  return {
    status: 200,
    headers: { "content-type": MEDIA_TYPE },
    body: {
      meta: {
        page: { currentPage: number, from, lastPage, perPage: size, to: from === null ? null : from + items.length - 1, total: list.length },
      },
      jsonapi: { version: "1.0" },
      // `next` is left out on the last page, as Lemon Squeezy does.
      links: { first: link(1), last: link(lastPage), ...(number < lastPage ? { next: link(number + 1) } : {}) },
      data: items.map((subscription) => lemonSqueezySubscription(subscription, context)),
    },
  };
}
