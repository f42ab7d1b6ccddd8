import type { ProviderId } from "~/billing/providers/provider.ts";
import { findCustomer } from "./customers.ts";
import { jsonApiError, MEDIA_TYPE } from "./lemonsqueezy-api.ts";
import { findPlanByProviderId, LEMON_SQUEEZY_STORE_ID, POLAR_SEAT_LIMITS } from "./plans.ts";
import { errorBody as polarErrorBody, invalid as polarInvalid } from "./polar-api.ts";
import { escapeHtml, layout, PAGE_HEADERS } from "./portal-pages.ts";
import { authenticate, responseHeaders, stripeError } from "./stripe-api.ts";
import {
  lemonSqueezyCheckoutDocument,
  polarCheckout,
  stripeCheckoutSession,
  type CheckoutSession,
  type CheckoutSessions,
} from "./checkout-sessions.ts";
import type { Metadata } from "./subscriptions.ts";
import { firstHeader, isHttpUrl, jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

/** The test card the hosted page offers (Stripe's "always succeeds" number). */
export const TEST_CARD = "4242 4242 4242 4242";

/**
 * Answers a provider's checkout-creation call, or undefined when the request
 * is not one (the provider's other endpoints then answer it).
 */
export function handleCheckoutApi(
  provider: ProviderId,
  request: EmulatorRequest,
  sessions: CheckoutSessions,
): EmulatorResponse | undefined {
  if (provider === "stripe" && request.path === "/v1/checkout/sessions") return createStripeCheckout(request, sessions);
  if (provider === "polar" && request.path === "/v1/checkouts/") return createPolarCheckout(request, sessions);
  if (provider === "lemonsqueezy" && request.path === "/v1/checkouts") return createLemonSqueezyCheckout(request, sessions);
  return undefined;
}

// ---------------------------------------------------------------- Stripe

/** Top-level parameters of `POST /v1/checkout/sessions`; anything else is refused, as Stripe does. */
const STRIPE_CHECKOUT_PARAMS = new Set([
  "after_expiration", "allow_promotion_codes", "automatic_tax", "billing_address_collection", "cancel_url",
  "client_reference_id", "consent_collection", "currency", "custom_fields", "custom_text", "customer",
  "customer_creation", "customer_email", "customer_update", "discounts", "expand", "expires_at", "invoice_creation",
  "line_items", "locale", "metadata", "mode", "payment_method_collection", "payment_method_configuration",
  "payment_method_types", "phone_number_collection", "saved_payment_method_options", "submit_type",
  "subscription_data", "success_url", "tax_id_collection", "ui_mode",
]);

function createStripeCheckout(request: EmulatorRequest, sessions: CheckoutSessions): EmulatorResponse {
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  if (request.method !== "POST") {
    return stripeError(request, 404, {
      type: "invalid_request_error",
      message: `Unrecognized request URL (${request.method}: ${request.path}).`,
    });
  }
  const params = new URLSearchParams(request.rawBody);
  const invalid = (param: string, message: string, code = "parameter_invalid_string") =>
    stripeError(request, 400, { type: "invalid_request_error", code, param, message });

  for (const key of params.keys()) {
    const name = key.split("[")[0]!;
    if (!STRIPE_CHECKOUT_PARAMS.has(name)) return invalid(name, `Received unknown parameter: ${name}`, "parameter_unknown");
  }
  const mode = params.get("mode");
  if (!mode) return invalid("mode", "Missing required param: mode.", "parameter_missing");
  if (mode !== "subscription") {
    return invalid("mode", "The emulator only offers subscriptions: use mode=subscription.", "parameter_invalid_string");
  }
  const successUrl = params.get("success_url");
  if (!successUrl) return invalid("success_url", "Missing required param: success_url.", "parameter_missing");
  for (const name of ["success_url", "cancel_url"]) {
    const value = params.get(name);
    if (value !== null && !isHttpUrl(value)) return invalid(name, "Not a valid URL", "url_invalid");
  }
  if (![...params.keys()].some((key) => key.startsWith("line_items["))) {
    return invalid("line_items", "Missing required param: line_items.", "parameter_missing");
  }
  if ([...params.keys()].some((key) => key.startsWith("line_items[") && !key.startsWith("line_items[0]"))) {
    return invalid("line_items", "The emulator takes one line item per checkout.", "parameter_invalid_integer");
  }
  const priceId = params.get("line_items[0][price]");
  if (!priceId) return invalid("line_items[0][price]", "Missing required param: line_items[0][price].", "parameter_missing");
  const plan = findPlanByProviderId("stripe", priceId);
  if (!plan) return invalid("line_items[0][price]", `No such price: '${priceId}'`, "resource_missing");
  const quantityParam = params.get("line_items[0][quantity]");
  const quantity = quantityParam === null ? 1 : seatCount(quantityParam);
  if (quantity === undefined) {
    return invalid("line_items[0][quantity]", "Invalid integer: the quantity must be a whole number from 1 to 999999.", "parameter_invalid_integer");
  }
  const customerId = params.get("customer");
  const email = params.get("customer_email");
  if (customerId !== null && email !== null) {
    return stripeError(request, 400, {
      type: "invalid_request_error",
      message: "You may only specify one of these parameters: customer, customer_email.",
    });
  }
  if (customerId !== null && !findCustomer("stripe", customerId)) {
    return invalid("customer", `No such customer: '${customerId}'`, "resource_missing");
  }
  // A trial only when asked for: Stripe prices carry none of their own (PROVIDERS.md §5.5).
  const trialParam = params.get("subscription_data[trial_period_days]");
  const trialDays = trialParam === null ? 0 : Number(trialParam);
  if (trialParam !== null && !(/^\d+$/.test(trialParam) && trialDays >= 1 && trialDays <= 730)) {
    return invalid("subscription_data[trial_period_days]", "Invalid integer: must be between 1 and 730", "parameter_invalid_integer");
  }

  const session = sessions.open("stripe", {
    plan,
    clientReferenceId: params.get("client_reference_id"),
    customerId,
    email: email ?? (customerId === null ? null : findCustomer("stripe", customerId)!.email),
    externalCustomerId: null,
    metadata: bracketed(params, "metadata"),
    subscriptionMetadata: bracketed(params, "subscription_data[metadata]"),
    successUrl,
    cancelUrl: params.get("cancel_url"),
    quantity,
    trialDays,
  });
  return jsonResponse(200, stripeCheckoutSession(session), responseHeaders(request));
}

/** A seat count as Stripe's form encoding carries it ("3"), or undefined when it is not one. */
export function seatCount(value: unknown): number | undefined {
  const number = typeof value === "string" && /^\d{1,6}$/.test(value) ? Number(value) : typeof value === "number" ? value : Number.NaN;
  return Number.isInteger(number) && number >= 1 && number <= 999_999 ? number : undefined;
}

/** `metadata[user_id]=…` → `{user_id: "…"}`. */
function bracketed(params: URLSearchParams, prefix: string): Metadata {
  const values: Metadata = {};
  for (const [key, value] of params) {
    const match = key.startsWith(`${prefix}[`) && /^\[([^\]]+)\]$/.exec(key.slice(prefix.length));
    if (match) values[match[1]!] = value;
  }
  return values;
}

// ---------------------------------------------------------------- Polar

function createPolarCheckout(request: EmulatorRequest, sessions: CheckoutSessions): EmulatorResponse {
  if (request.bearerToken === null || !/^polar_[a-z]+_\w+$/.test(request.bearerToken)) {
    return jsonResponse(401, polarErrorBody(401));
  }
  if (request.method !== "POST") return jsonResponse(405, { detail: "Method Not Allowed" });
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody);
  } catch {
    return polarInvalid({ loc: ["body", 0], msg: "JSON decode error", type: "json_invalid" });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return polarInvalid({ loc: ["body"], msg: "Input should be a valid dictionary", type: "dict_type", input: body });
  }
  const fields = body as Record<string, unknown>;
  const { products } = fields;
  if (!Array.isArray(products) || products.length === 0) {
    return polarInvalid({ loc: ["body", "products"], msg: "Field required", type: "missing", input: body });
  }
  if (products.length > 1) {
    return polarInvalid({ loc: ["body", "products"], msg: "The emulator takes one product per checkout.", type: "value_error", input: products });
  }
  const plan = typeof products[0] === "string" ? findPlanByProviderId("polar", products[0]) : undefined;
  if (!plan) {
    return polarInvalid({ loc: ["body", "products", 0], msg: "Product does not exist.", type: "value_error", input: products[0] });
  }
  for (const name of ["success_url", "return_url"]) {
    const value = fields[name];
    if (value !== undefined && value !== null && (typeof value !== "string" || !isHttpUrl(value))) {
      return polarInvalid({ loc: ["body", name], msg: "Input should be a valid URL", type: "url_parsing", input: value });
    }
  }
  for (const name of ["external_customer_id", "customer_email"]) {
    const value = fields[name];
    if (value !== undefined && value !== null && typeof value !== "string") {
      return polarInvalid({ loc: ["body", name], msg: "Input should be a valid string", type: "string_type", input: value });
    }
  }
  const metadata = fields.metadata ?? {};
  if (!isMetadata(metadata)) {
    return polarInvalid({ loc: ["body", "metadata"], msg: "Input should be a valid dictionary", type: "dict_type", input: metadata });
  }
  // `seats` works with seat-based pricing only; a seat-based product without it starts at its minimum.
  const seats = fields.seats ?? null;
  if (seats !== null && (typeof seats !== "number" || !Number.isInteger(seats))) {
    return polarInvalid({ loc: ["body", "seats"], msg: "Input should be a valid integer", type: "int_type", input: seats });
  }
  if (seats !== null && !plan.perSeat) {
    return polarInvalid({ loc: ["body", "seats"], msg: "Seats can only be set for seat-based pricing.", type: "value_error", input: seats });
  }
  if (seats !== null && (seats < POLAR_SEAT_LIMITS.minimum || seats > POLAR_SEAT_LIMITS.maximum)) {
    return polarInvalid({
      loc: ["body", "seats"],
      msg: `Seats must be between ${POLAR_SEAT_LIMITS.minimum} and ${POLAR_SEAT_LIMITS.maximum}.`,
      type: "value_error",
      input: seats,
    });
  }
  const trial = polarTrialDays(fields, plan.trialDays);
  if (typeof trial !== "number") return trial;

  const session = sessions.open("polar", {
    plan,
    clientReferenceId: null,
    customerId: null,
    email: (fields.customer_email as string | null | undefined) ?? null,
    externalCustomerId: (fields.external_customer_id as string | null | undefined) ?? null,
    metadata,
    // Polar copies the checkout's metadata onto the subscription it creates.
    subscriptionMetadata: metadata,
    successUrl: (fields.success_url as string | null | undefined) ?? null,
    cancelUrl: (fields.return_url as string | null | undefined) ?? null,
    quantity: seats ?? (plan.perSeat ? POLAR_SEAT_LIMITS.minimum : 1),
    trialDays: trial,
  });
  return jsonResponse(201, polarCheckout(session));
}

const POLAR_TRIAL_UNIT_DAYS = { day: 1, week: 7, month: 30, year: 365 } as const;

/**
 * The trial a Polar checkout starts: the product's, or the checkout's `trial_interval` × `trial_interval_count`
 * override; none with `allow_trial: false`. A 422 for values Polar refuses.
 */
function polarTrialDays(fields: Record<string, unknown>, productDays: number): number | EmulatorResponse {
  const { allow_trial: allow, trial_interval: unit, trial_interval_count: count } = fields;
  if (allow !== undefined && allow !== null && typeof allow !== "boolean") {
    return polarInvalid({ loc: ["body", "allow_trial"], msg: "Input should be a valid boolean", type: "bool_type", input: allow });
  }
  if (unit !== undefined && unit !== null && !(typeof unit === "string" && unit in POLAR_TRIAL_UNIT_DAYS)) {
    return polarInvalid({ loc: ["body", "trial_interval"], msg: "Input should be 'day', 'week', 'month' or 'year'", type: "enum", input: unit });
  }
  if (count !== undefined && count !== null && !(Number.isInteger(count) && (count as number) >= 1 && (count as number) <= 1000)) {
    return polarInvalid({ loc: ["body", "trial_interval_count"], msg: "Input should be between 1 and 1000", type: "int_range", input: count });
  }
  if (allow === false) return 0;
  if (typeof unit === "string" && typeof count === "number") return POLAR_TRIAL_UNIT_DAYS[unit as keyof typeof POLAR_TRIAL_UNIT_DAYS] * count;
  return productDays;
}

function isMetadata(value: unknown): value is Metadata {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => ["string", "number", "boolean"].includes(typeof entry))
  );
}

// ---------------------------------------------------------------- Lemon Squeezy

function createLemonSqueezyCheckout(request: EmulatorRequest, sessions: CheckoutSessions): EmulatorResponse {
  if (request.bearerToken === null || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(request.bearerToken)) {
    return jsonApiError(401, "Unauthenticated.");
  }
  if (!(firstHeader(request.headers, "accept") ?? "").includes(MEDIA_TYPE)) {
    return jsonApiError(406, `The Accept header must be ${MEDIA_TYPE}.`);
  }
  if (request.method !== "POST") return jsonApiError(405, "This endpoint does not support this method in the emulator.");
  let document: unknown;
  try {
    document = JSON.parse(request.rawBody);
  } catch {
    return jsonApiError(400, "The request body is not valid JSON.");
  }
  const data = (document as { data?: Record<string, unknown> } | null)?.data;
  if (typeof data !== "object" || data === null || data.type !== "checkouts") {
    return invalidPointer("/data/type", "The type must be checkouts.");
  }
  const relationships = (data.relationships ?? {}) as Record<string, { data?: { type?: unknown; id?: unknown } } | undefined>;
  const storeId = relationships.store?.data?.id;
  if (storeId === undefined) return invalidPointer("/data/relationships/store", "The store field is required.");
  if (String(storeId) !== LEMON_SQUEEZY_STORE_ID) {
    return invalidPointer("/data/relationships/store/data/id", "The selected store id is invalid.");
  }
  const variantId = relationships.variant?.data?.id;
  if (variantId === undefined) return invalidPointer("/data/relationships/variant", "The variant field is required.");
  const plan = findPlanByProviderId("lemonsqueezy", String(variantId));
  if (!plan) return invalidPointer("/data/relationships/variant/data/id", "The selected variant id is invalid.");

  const attributes = (data.attributes ?? {}) as Record<string, unknown>;
  const checkoutData = (attributes.checkout_data ?? {}) as Record<string, unknown>;
  const productOptions = (attributes.product_options ?? {}) as Record<string, unknown>;
  const email = checkoutData.email;
  if (email !== undefined && typeof email !== "string") {
    return invalidPointer("/data/attributes/checkout_data/email", "The checkout data.email must be a string.");
  }
  const custom = checkoutData.custom ?? {};
  if (!isMetadata(custom)) {
    return invalidPointer("/data/attributes/checkout_data/custom", "The checkout data.custom must be an object of values.");
  }
  // `variant_quantities: [{ variant_id, quantity }]`: the quantity of the checkout's variant.
  const variantQuantities = checkoutData.variant_quantities ?? [];
  if (!Array.isArray(variantQuantities)) {
    return invalidPointer("/data/attributes/checkout_data/variant_quantities", "The checkout data.variant quantities must be an array.");
  }
  let quantity = 1;
  for (const [index, entry] of variantQuantities.entries()) {
    const pointer = `/data/attributes/checkout_data/variant_quantities/${index}`;
    const { variant_id: entryVariant, quantity: entryQuantity } = (entry ?? {}) as Record<string, unknown>;
    if (String(entryVariant) !== String(variantId)) return invalidPointer(`${pointer}/variant_id`, "The variant id must be the checkout's variant.");
    const count = typeof entryQuantity === "number" ? seatCount(entryQuantity) : undefined;
    if (count === undefined) return invalidPointer(`${pointer}/quantity`, "The quantity must be an integer of at least 1.");
    quantity = count;
  }
  const checkoutOptions = (attributes.checkout_options ?? {}) as Record<string, unknown>;
  if (checkoutOptions.skip_trial !== undefined && typeof checkoutOptions.skip_trial !== "boolean") {
    return invalidPointer("/data/attributes/checkout_options/skip_trial", "The checkout options.skip trial field must be true or false.");
  }
  const redirectUrl = productOptions.redirect_url;
  if (redirectUrl !== undefined && redirectUrl !== null && redirectUrl !== "" && (typeof redirectUrl !== "string" || !isHttpUrl(redirectUrl))) {
    return invalidPointer("/data/attributes/product_options/redirect_url", "The product options.redirect url must be a valid URL.");
  }

  const session = sessions.open("lemonsqueezy", {
    plan,
    clientReferenceId: null,
    customerId: null,
    email: email || null,
    externalCustomerId: null,
    metadata: {},
    subscriptionMetadata: custom,
    successUrl: typeof redirectUrl === "string" && redirectUrl !== "" ? redirectUrl : null,
    cancelUrl: null,
    quantity,
    // The variant's trial, unless this checkout skips it.
    trialDays: checkoutOptions.skip_trial === true ? 0 : plan.trialDays,
  });
  const document201 = lemonSqueezyCheckoutDocument(session, productOptions, attributes.checkout_options ?? {});
  return { status: 201, headers: { "content-type": MEDIA_TYPE }, body: document201 };
}

/** Lemon Squeezy's 422 with a JSON pointer to the offending member. */
function invalidPointer(pointer: string, detail: string): EmulatorResponse {
  return {
    status: 422,
    headers: { "content-type": MEDIA_TYPE },
    body: {
      jsonapi: { version: "1.0" },
      errors: [{ detail, source: { pointer }, status: "422", title: "Unprocessable Entity" }],
    },
  };
}

// ---------------------------------------------------------------- The hosted page

const PROVIDER_LABELS: Record<ProviderId, string> = { stripe: "Stripe", polar: "Polar", lemonsqueezy: "Lemon Squeezy" };

/** The page a checkout URL opens: plan, price, the test card, Pay, and a way back. */
export function checkoutPage(session: CheckoutSession, fallbackUrl: string): EmulatorResponse {
  const name = PROVIDER_LABELS[session.provider];
  const back = session.cancelUrl ?? fallbackUrl;
  const content = `<p class="badge">Emulated ${escapeHtml(name)}</p>
    <h1>Subscribe to ${escapeHtml(session.plan.name)}</h1>
    <dl>
      <dt>Plan</dt><dd>${escapeHtml(session.plan.name)}</dd>
      <dt>Price</dt><dd>${escapeHtml(session.plan.priceText)}</dd>
      ${session.plan.perSeat || session.quantity !== 1 ? `<dt>Seats</dt><dd>${session.quantity}</dd>` : ""}
      ${session.trialDays > 0 ? `<dt>Free trial</dt><dd>${session.trialDays} days, then ${escapeHtml(session.plan.priceText)}</dd>` : ""}
      ${session.email ? `<dt>Email</dt><dd>${escapeHtml(session.email)}</dd>` : ""}
    </dl>
    <form method="post">
      <label for="card">Card number (test card)</label>
      <input id="card" name="card" inputmode="numeric" autocomplete="off" value="${TEST_CARD}" readonly>
      <button type="submit">${session.trialDays > 0 ? `Pay $0 today and start the ${session.trialDays}-day free trial` : `Pay ${escapeHtml(session.plan.priceText)}`}</button>
    </form>
    <p>No real payment is made: this page stands in for ${escapeHtml(name)}'s hosted checkout.</p>
    ${isHttpUrl(back) ? `<a class="secondary" href="${escapeHtml(back)}">Cancel and return to the app</a>` : ""}`;
  return { status: 200, headers: checkoutHeaders(session), body: layout(`${session.plan.name} checkout (emulated ${name})`, content + CHECKOUT_STYLE) };
}

export function checkoutErrorPage(status: 404 | 410, title: string, fallbackUrl: string): EmulatorResponse {
  const content = `<h1>${escapeHtml(title)}</h1>
    <p>Go back to the app and choose a plan again.</p>
    ${isHttpUrl(fallbackUrl) ? `<a href="${escapeHtml(fallbackUrl)}">Return to the app</a>` : ""}`;
  return { status, headers: PAGE_HEADERS, body: layout(title, content) };
}

/** Shown when a provider has nowhere to send the buyer after paying (no success URL was given). */
export function paidPage(session: CheckoutSession, fallbackUrl: string): EmulatorResponse {
  const content = `<h1>Thank you: you are subscribed to ${escapeHtml(session.plan.name)}</h1>
    ${isHttpUrl(fallbackUrl) ? `<a href="${escapeHtml(fallbackUrl)}">Return to the app</a>` : ""}`;
  return { status: 200, headers: PAGE_HEADERS, body: layout("Payment complete", content) };
}

/** The page may post to itself and then be sent on to the success URL: both must be allowed form targets. */
function checkoutHeaders(session: CheckoutSession): Record<string, string> {
  const targets = [session.successUrl].filter((url): url is string => url !== null && isHttpUrl(url));
  const formAction = ["'self'", ...targets.map((url) => new URL(url).origin)].join(" ");
  return {
    ...PAGE_HEADERS,
    "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action ${formAction}`,
  };
}

const CHECKOUT_STYLE = `<style>
  form { display: grid; gap: .5rem; margin: 1.5rem 0; }
  input { font: inherit; padding: .5rem; border: 1px solid #8c959f; border-radius: 6px; max-width: 100%; box-sizing: border-box; }
  button { font: inherit; padding: .6rem 1rem; border: 0; border-radius: 8px; background: #1f2328; color: #fff; cursor: pointer; }
  button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
  a.secondary { background: #fff; color: #1f2328; border: 1px solid #1f2328; }
</style>`;
