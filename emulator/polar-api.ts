import { randomUUID } from "node:crypto";
import { findCustomer, findCustomerByExternalId, type EmulatedCustomer } from "./customers.ts";
import { POLAR_ORGANIZATION } from "./portal-pages.ts";
import { isHttpUrl, jsonResponse, type EmulatorResponse, type ProviderApi } from "./wire.ts";

const SESSIONS_PATH = "/v1/customer-sessions/";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** When the emulated customers were created: fixed, so answers are stable across starts. */
const CUSTOMERS_CREATED_AT = "2026-01-05T10:00:00Z";

export type ValidationIssue = { loc: (string | number)[]; msg: string; type: string; input?: unknown };

/** Polar's `POST /v1/customer-sessions/`, JSON in, `CustomerSession` out (201). */
export const polarApi: ProviderApi = {
  claims: (request) => request.path.startsWith("/v1/customer-sessions") || "polar-version" in request.headers,

  handle(request, portals) {
    if (request.bearerToken === null || !/^polar_[a-z]+_\w+$/.test(request.bearerToken)) {
      return jsonResponse(401, errorBody(401));
    }
    if (request.path !== SESSIONS_PATH) return jsonResponse(404, { detail: "Not Found" });
    if (request.method !== "POST") return jsonResponse(405, { detail: "Method Not Allowed" });

    let body: unknown;
    try {
      body = JSON.parse(request.rawBody);
    } catch {
      return invalid({ loc: ["body", 0], msg: "JSON decode error", type: "json_invalid" });
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return invalid({ loc: ["body"], msg: "Input should be a valid dictionary", type: "dict_type", input: body });
    }
    const { customer_id: customerId, external_customer_id: externalId, return_url: returnUrl } = body as Record<
      string,
      unknown
    >;
    if (returnUrl !== undefined && returnUrl !== null && (typeof returnUrl !== "string" || !isHttpUrl(returnUrl))) {
      return invalid({ loc: ["body", "return_url"], msg: "Input should be a valid URL", type: "url_parsing", input: returnUrl });
    }

    let customer: EmulatedCustomer | undefined;
    if (customerId !== undefined) {
      if (typeof customerId !== "string" || !UUID.test(customerId)) {
        return invalid({ loc: ["body", "customer_id"], msg: "Input should be a valid UUID", type: "uuid_parsing", input: customerId });
      }
      customer = findCustomer("polar", customerId);
      if (!customer) return customerDoesNotExist("customer_id", customerId);
    } else if (typeof externalId === "string") {
      customer = findCustomerByExternalId("polar", externalId);
      if (!customer) return customerDoesNotExist("external_customer_id", externalId);
    } else {
      return invalid({ loc: ["body", "customer_id"], msg: "Field required", type: "missing", input: body });
    }

    const portal = portals.openPolarSession(customer, returnUrl ?? null);
    const now = new Date().toISOString();
    return jsonResponse(201, {
      created_at: now,
      modified_at: null,
      id: randomUUID(),
      token: portal.token,
      expires_at: new Date(portal.expiresAt).toISOString(),
      return_url: returnUrl ?? null,
      customer_portal_url: portal.url,
      customer_id: customer.id,
      customer: polarCustomer(customer),
    });
  },

  errorResponse: (status) => jsonResponse(status, errorBody(status)),
};

/** Polar's `{error, detail}` body for a status (422 uses FastAPI's `detail` array). */
export function errorBody(status: number): object {
  if (status === 401) return { error: "Unauthorized", detail: "Unauthorized" };
  if (status === 403) return { error: "NotPermitted", detail: "You don't have the permission to do this." };
  if (status === 404) return { error: "ResourceNotFound", detail: "Not found" };
  if (status === 422) return { detail: [{ loc: ["body"], msg: "Validation error (emulated)", type: "value_error" }] };
  if (status === 429) return { error: "TooManyRequests", detail: "Rate limit exceeded" };
  if (status >= 500) return { error: "InternalServerError", detail: "Internal server error (emulated)" };
  return { error: "BadRequest", detail: "Bad request (emulated)" };
}

export function invalid(issue: ValidationIssue): EmulatorResponse {
  return jsonResponse(422, { detail: [issue] });
}

/** What the Polar server answers for an id it does not know (its source raises this as a validation error). */
function customerDoesNotExist(field: "customer_id" | "external_customer_id", input: string): EmulatorResponse {
  return invalid({ loc: ["body", field], msg: "Customer does not exist.", type: "value_error", input });
}

export function polarCustomer(customer: EmulatedCustomer) {
  return {
    id: customer.id,
    created_at: CUSTOMERS_CREATED_AT,
    modified_at: null,
    metadata: {},
    external_id: customer.externalId ?? customer.email,
    email: customer.email,
    email_verified: true,
    type: "individual",
    name: customer.name,
    billing_name: customer.name,
    billing_address: null,
    tax_id: null,
    locale: null,
    organization_id: POLAR_ORGANIZATION.id,
    default_payment_method_id: null,
    deleted_at: null,
    first_user_event_at: null,
    // Polar always sends a string here, and the 0.x SDKs (the peer in bench/) reject null.
    avatar_url: `https://avatars.polar.test/${customer.id}.png`,
  };
}
