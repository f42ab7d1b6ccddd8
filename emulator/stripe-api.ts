import { randomBytes } from "node:crypto";
import { findCustomer } from "./customers.ts";
import { flowObject, parsePortalSessionOptions } from "./stripe-portal-flows.ts";
import { firstHeader, isHttpUrl, jsonResponse, type EmulatorRequest, type EmulatorResponse, type ProviderApi } from "./wire.ts";

const SESSIONS_PATH = "/v1/billing_portal/sessions";
const DEFAULT_CONFIGURATION_ID = "bpc_EmuDefaultConfig";

/** The top-level parameters `POST /v1/billing_portal/sessions` accepts; anything else is refused, as Stripe does. */
const SESSION_PARAMS = new Set([
  "after_expiration",
  "configuration",
  "customer",
  "customer_account",
  "expand",
  "flow_data",
  "locale",
  "on_behalf_of",
  "return_url",
]);

export type StripeErrorFields = { type: string; message: string; code?: string; param?: string };

/** Stripe's `POST /v1/billing_portal/sessions`, form-encoded in, `billing_portal.session` out. */
export const stripeApi: ProviderApi = {
  claims: (request) =>
    request.path.startsWith("/v1/") && (request.path.startsWith("/v1/billing_portal/") || "stripe-version" in request.headers),

  handle(request, portals, context) {
    const refusal = authenticate(request.bearerToken);
    if (refusal) return refusal;
    if (request.method !== "POST" || request.path !== SESSIONS_PATH) {
      return stripeError(request, 404, {
        type: "invalid_request_error",
        message: `Unrecognized request URL (${request.method}: ${request.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      });
    }

    const params = new URLSearchParams(request.rawBody);
    for (const key of params.keys()) {
      const name = key.split("[")[0]!;
      if (!SESSION_PARAMS.has(name)) {
        return stripeError(request, 400, {
          type: "invalid_request_error",
          code: "parameter_unknown",
          param: name,
          message: `Received unknown parameter: ${name}`,
        });
      }
    }

    const customerId = params.get("customer");
    if (!customerId) {
      return stripeError(request, 400, {
        type: "invalid_request_error",
        code: "parameter_missing",
        param: "customer",
        message: "Missing required param: customer.",
      });
    }
    const returnUrl = params.get("return_url");
    if (returnUrl !== null && !isHttpUrl(returnUrl)) {
      return stripeError(request, 400, {
        type: "invalid_request_error",
        code: "url_invalid",
        param: "return_url",
        message: "Not a valid URL",
      });
    }
    const configuration = params.get("configuration");
    if (configuration !== null && !/^bpc_\w+$/.test(configuration)) {
      return stripeError(request, 400, {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "configuration",
        message: `No such configuration: '${configuration}'`,
      });
    }
    const customer = findCustomer("stripe", customerId);
    if (!customer) {
      return stripeError(request, 400, {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "customer",
        message: `No such customer: '${customerId}'`,
      });
    }
    const livemode = isLiveKey(request.bearerToken!);
    if (customer.portal === "no-default-configuration" && configuration === null) {
      const mode = livemode ? "live mode" : "test mode";
      const settingsUrl = `https://dashboard.stripe.com/${livemode ? "" : "test/"}settings/billing/portal`;
      return stripeError(request, 400, {
        type: "invalid_request_error",
        message: `No configuration provided and your ${mode} default configuration has not been created. Provide a configuration or create your default by saving your customer portal settings in ${mode} at ${settingsUrl}.`,
      });
    }

    const options = parsePortalSessionOptions(params, customer, context.subscriptions);
    if ("error" in options) return stripeError(request, 400, options.error);

    const portal = portals.openStripeSession(customer, returnUrl, options);
    return jsonResponse(
      200,
      {
        id: `bps_${randomId()}`,
        object: "billing_portal.session",
        after_expiration: null,
        configuration: configuration ?? DEFAULT_CONFIGURATION_ID,
        created: Math.floor(Date.now() / 1000),
        customer: customer.id,
        customer_account: null,
        flow: options.flow ? flowObject(options.flow) : null,
        livemode,
        locale: options.locale,
        on_behalf_of: params.get("on_behalf_of"),
        return_url: returnUrl,
        url: portal.url,
      },
      responseHeaders(request),
    );
  },

  errorResponse: (status) => jsonResponse(status, { error: errorFields(status) }, { "request-id": `req_${randomId()}` }),
};

export function authenticate(token: string | null): EmulatorResponse | undefined {
  if (token === null) {
    return jsonResponse(401, {
      error: {
        type: "invalid_request_error",
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      },
    });
  }
  // Stripe echoes a masked key here; the emulator never echoes any part of it.
  if (!/^(sk|rk)_(test|live)_\w+$/.test(token)) return jsonResponse(401, { error: errorFields(401) });
  return undefined;
}

export function isLiveKey(token: string): boolean {
  return /^(sk|rk)_live_/.test(token);
}

function errorFields(status: number): StripeErrorFields {
  if (status === 401) return { type: "invalid_request_error", message: "Invalid API Key provided." };
  if (status === 403) {
    return { type: "invalid_request_error", message: "The provided key does not have the required permissions for this endpoint." };
  }
  if (status === 429) {
    return {
      type: "invalid_request_error",
      code: "rate_limit",
      message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
    };
  }
  if (status >= 500) return { type: "api_error", message: "Something went wrong on Stripe's end. (emulated)" };
  return { type: "invalid_request_error", message: "The request could not be processed. (emulated)" };
}

export function stripeError(request: EmulatorRequest, status: number, fields: StripeErrorFields): EmulatorResponse {
  const docs = fields.code ? { doc_url: `https://stripe.com/docs/error-codes/${fields.code.replaceAll("_", "-")}` } : {};
  return jsonResponse(status, { error: { ...fields, ...docs } }, responseHeaders(request));
}

export function responseHeaders(request: EmulatorRequest): Record<string, string> {
  const version = firstHeader(request.headers, "stripe-version");
  const idempotencyKey = firstHeader(request.headers, "idempotency-key");
  return {
    "request-id": `req_${randomId()}`,
    ...(version ? { "stripe-version": version } : {}),
    ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
  };
}

export function randomId(): string {
  return randomBytes(12).toString("base64url").replace(/[-_]/g, "0");
}
