import { STATUS_CODES } from "node:http";
import { findCustomer, type EmulatedCustomer } from "./customers.ts";
import { LEMON_SQUEEZY_API_ORIGIN } from "./lemonsqueezy-routing.ts";
import { LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import type { PortalPages } from "./portal-pages.ts";
import { firstHeader, type EmulatorResponse, type ProviderApi } from "./wire.ts";

export const MEDIA_TYPE = "application/vnd.api+json";
const CUSTOMER_PATH = /^\/v1\/customers\/([^/]+)$/;
const STORE_ID = Number(LEMON_SQUEEZY_STORE_ID);
/** When the emulated customers were created: fixed, so answers are stable across starts. */
const CUSTOMERS_CREATED_AT = "2026-01-05T10:00:00.000000Z";

/** Lemon Squeezy's `GET /v1/customers/:id`, a JSON:API document with the customer's signed portal URL. */
export const lemonSqueezyApi: ProviderApi = {
  claims: (request) =>
    request.path.startsWith("/v1/customers") || (firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE),

  handle(request, portals) {
    // Lemon Squeezy API keys are JWTs.
    if (request.bearerToken === null || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(request.bearerToken)) {
      return jsonApiError(401, "Unauthenticated.");
    }
    if (!(firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE)) {
      return jsonApiError(406, `The Accept header must be ${MEDIA_TYPE}.`);
    }
    const id = CUSTOMER_PATH.exec(request.path)?.[1];
    if (id === undefined) return jsonApiError(404, "The requested endpoint could not be found.");
    if (request.method !== "GET") return jsonApiError(405, "This endpoint does not support this method in the emulator.");
    const customer = findCustomer("lemonsqueezy", id);
    if (!customer) return jsonApiError(404, "The requested resource could not be found.");
    return { status: 200, headers: { "content-type": MEDIA_TYPE }, body: customerDocument(customer, portals) };
  },

  errorResponse: (status) => jsonApiError(status, "The request failed. (emulated)"),
};

export function customerDocument(customer: EmulatedCustomer, portals: PortalPages) {
  // Links name the real API even when the emulator serves the document, as the SDK's own tests expect.
  const self = `${LEMON_SQUEEZY_API_ORIGIN}/v1/customers/${customer.id}`;
  const subscribed = customer.portal === "ready";
  const relationship = (name: string) => ({
    links: { related: `${self}/${name}`, self: `${self}/relationships/${name}` },
  });
  return {
    jsonapi: { version: "1.0" },
    links: { self },
    data: {
      type: "customers",
      id: customer.id,
      attributes: {
        store_id: STORE_ID,
        name: customer.name,
        email: customer.email,
        status: subscribed ? "subscribed" : "unsubscribed",
        city: null,
        region: null,
        country: "NL",
        total_revenue_currency: subscribed ? 1999 : 0,
        mrr: subscribed ? 1999 : 0,
        status_formatted: subscribed ? "Subscribed" : "Unsubscribed",
        country_formatted: "Netherlands",
        total_revenue_currency_formatted: subscribed ? "$19.99" : "$0.00",
        mrr_formatted: subscribed ? "$19.99" : "$0.00",
        urls: { customer_portal: subscribed ? portals.signLemonSqueezyUrl(customer).url : null },
        created_at: CUSTOMERS_CREATED_AT,
        updated_at: CUSTOMERS_CREATED_AT,
        test_mode: true,
      },
      relationships: {
        store: relationship("store"),
        orders: relationship("orders"),
        subscriptions: relationship("subscriptions"),
        "license-keys": relationship("license-keys"),
      },
      links: { self },
    },
  };
}

function errorDocument(status: number, detail: string) {
  return {
    jsonapi: { version: "1.0" },
    errors: [{ detail, status: String(status), title: STATUS_CODES[status] ?? "Error" }],
  };
}

export function jsonApiError(status: number, detail: string): EmulatorResponse {
  return { status, headers: { "content-type": MEDIA_TYPE }, body: errorDocument(status, detail) };
}
