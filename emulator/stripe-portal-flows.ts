import type { EmulatedCustomer } from "./customers.ts";
import { EMULATED_PLANS, type EmulatedPlan } from "./plans.ts";
import type { StripeErrorFields } from "./stripe-api.ts";
import type { EmulatedSubscription, SubscriptionStore } from "./subscriptions.ts";
import { isHttpUrl } from "./wire.ts";

/** The `locale` values `billingPortal.sessions.create` accepts (stripe-node 22's `SessionCreateParams.Locale`). */
export const STRIPE_PORTAL_LOCALES = [
  "auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-SG", "es",
  "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl",
  "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
] as const;

/** Every `flow_data[type]` Stripe knows; the emulator opens a page for the first four. */
const FLOW_TYPES = [
  "customer_update",
  "payment_method_update",
  "subscription_cancel",
  "subscription_pause",
  "subscription_update",
  "subscription_update_confirm",
] as const;
const EMULATED_FLOW_TYPES = ["payment_method_update", "subscription_cancel", "subscription_update", "subscription_update_confirm"] as const;
export type StripeFlowType = (typeof EMULATED_FLOW_TYPES)[number];
const SUBSCRIPTION_OBJECTS = ["subscription_cancel", "subscription_pause", "subscription_update", "subscription_update_confirm"] as const;
const AFTER_COMPLETION_TYPES = ["hosted_confirmation", "portal_homepage", "redirect"] as const;
/** Stripe's limit on `hosted_confirmation.custom_message`. */
const MAX_CUSTOM_MESSAGE = 500;

/** The nested `flow_data` keys Stripe accepts (form-encoded, as the SDK sends them). */
const FLOW_KEYS = [
  /^flow_data\[type\]$/,
  /^flow_data\[after_completion\]\[type\]$/,
  /^flow_data\[after_completion\]\[hosted_confirmation\]\[custom_message\]$/,
  /^flow_data\[after_completion\]\[redirect\]\[return_url\]$/,
  /^flow_data\[subscription_(cancel|pause|update|update_confirm)\]\[subscription\]$/,
  /^flow_data\[subscription_cancel\]\[retention\]\[type\]$/,
  /^flow_data\[subscription_cancel\]\[retention\]\[coupon_offer\]\[coupon\]$/,
  /^flow_data\[subscription_update_confirm\]\[items\]\[\d+\]\[(id|price|quantity)\]$/,
  /^flow_data\[subscription_update_confirm\]\[discounts\]\[\d+\]\[(coupon|promotion_code)\]$/,
];

export type AfterCompletion =
  | { type: "portal_homepage" }
  | { type: "hosted_confirmation"; customMessage: string | null }
  | { type: "redirect"; returnUrl: string };

/** A validated deep link: what the session's page does, and where the customer goes afterwards. */
export type StripePortalFlow = {
  type: StripeFlowType;
  afterCompletion: AfterCompletion;
  /** Null only for `payment_method_update`, which is about the customer, not one subscription. */
  subscriptionId: string | null;
  /** `subscription_update_confirm`: the one item and the price it moves to (null keeps the price). */
  item: { id: string; price: string | null; quantity: number | null } | null;
};

export type PortalSessionOptions = { flow: StripePortalFlow | null; locale: string | null };

/**
 * Checks `flow_data` and `locale` of `POST /v1/billing_portal/sessions` as
 * Stripe does: the shape, the subscription (it must exist and be the
 * customer's), and the locale list. Answers Stripe's error fields when the
 * request is refused.
 */
export function parsePortalSessionOptions(
  params: URLSearchParams,
  customer: EmulatedCustomer,
  subscriptions: SubscriptionStore,
): PortalSessionOptions | { error: StripeErrorFields } {
  const locale = params.get("locale");
  if (locale !== null && locale !== "" && !(STRIPE_PORTAL_LOCALES as readonly string[]).includes(locale)) {
    return invalid("locale", `Invalid locale: must be one of ${STRIPE_PORTAL_LOCALES.join(", ")}`);
  }
  const flow = parseFlow(params, customer, subscriptions);
  if (flow !== null && "error" in flow) return flow;
  return { flow, locale: locale === "" ? null : locale };
}

function parseFlow(
  params: URLSearchParams,
  customer: EmulatedCustomer,
  subscriptions: SubscriptionStore,
): StripePortalFlow | null | { error: StripeErrorFields } {
  const keys = [...params.keys()].filter((key) => key === "flow_data" || key.startsWith("flow_data["));
  if (keys.length === 0) return null;
  if (keys.includes("flow_data")) return invalid("flow_data", "Invalid object");
  const unknown = keys.find((key) => !FLOW_KEYS.some((pattern) => pattern.test(key)));
  if (unknown) return { error: { type: "invalid_request_error", code: "parameter_unknown", param: unknown, message: `Received unknown parameter: ${unknown}` } };
  const has = (prefix: string) => keys.some((key) => key.startsWith(prefix));

  const type = params.get("flow_data[type]");
  if (!type) return missing("flow_data[type]");
  if (!(FLOW_TYPES as readonly string[]).includes(type)) return invalid("flow_data[type]", `Invalid flow_data[type]: must be one of ${FLOW_TYPES.join(", ")}`);
  if (!isEmulatedFlowType(type)) {
    return invalid("flow_data[type]", `The emulator does not emulate the ${type} flow; it has ${EMULATED_FLOW_TYPES.join(", ")}.`);
  }
  for (const other of SUBSCRIPTION_OBJECTS) {
    if (other !== type && has(`flow_data[${other}]`)) {
      return invalid(`flow_data[${other}]`, `flow_data[${other}] can only be set when flow_data[type] is ${other}.`);
    }
  }

  const afterCompletion = parseAfterCompletion(params, has);
  if ("error" in afterCompletion) return afterCompletion;
  if (type === "payment_method_update") return { type, afterCompletion, subscriptionId: null, item: null };

  const object = `flow_data[${type}]`;
  if (!has(object)) return missing(object);
  const subscriptionParam = `${object}[subscription]`;
  const subscriptionId = params.get(subscriptionParam);
  if (!subscriptionId) return missing(subscriptionParam);
  const subscription = subscriptions.get("stripe", subscriptionId);
  if (!subscription) return noSuch("subscription", subscriptionId, subscriptionParam);
  if (subscription.customer.id !== customer.id) {
    return invalid(subscriptionParam, `The subscription '${subscriptionId}' does not belong to the customer '${customer.id}'.`);
  }

  if (type === "subscription_cancel" && has(`${object}[retention]`)) {
    // The emulator has no coupons, so no retention offer can name one that exists.
    const coupon = params.get(`${object}[retention][coupon_offer][coupon]`);
    if (params.get(`${object}[retention][type]`) !== "coupon_offer") return invalid(`${object}[retention][type]`, "Invalid retention type: must be coupon_offer");
    if (!coupon) return missing(`${object}[retention][coupon_offer][coupon]`);
    return noSuch("coupon", coupon, `${object}[retention][coupon_offer][coupon]`);
  }
  if (type !== "subscription_update_confirm") return { type, afterCompletion, subscriptionId, item: null };

  const item = parseConfirmItem(params, has, subscription);
  if ("error" in item) return item;
  return { type, afterCompletion, subscriptionId, item };
}

function parseAfterCompletion(params: URLSearchParams, has: (prefix: string) => boolean): AfterCompletion | { error: StripeErrorFields } {
  const base = "flow_data[after_completion]";
  if (!has(base)) return { type: "portal_homepage" };
  const type = params.get(`${base}[type]`);
  if (!type) return missing(`${base}[type]`);
  if (!(AFTER_COMPLETION_TYPES as readonly string[]).includes(type)) {
    return invalid(`${base}[type]`, `Invalid flow_data[after_completion][type]: must be one of ${AFTER_COMPLETION_TYPES.join(", ")}`);
  }
  for (const other of ["hosted_confirmation", "redirect"]) {
    if (other !== type && has(`${base}[${other}]`)) return invalid(`${base}[${other}]`, `${base}[${other}] can only be set when ${base}[type] is ${other}.`);
  }
  if (type === "redirect") {
    const returnUrl = params.get(`${base}[redirect][return_url]`);
    if (!has(`${base}[redirect]`)) return missing(`${base}[redirect]`);
    if (!returnUrl) return missing(`${base}[redirect][return_url]`);
    if (!isHttpUrl(returnUrl)) return { error: { type: "invalid_request_error", code: "url_invalid", param: `${base}[redirect][return_url]`, message: "Not a valid URL" } };
    return { type, returnUrl };
  }
  if (type === "hosted_confirmation") {
    const customMessage = params.get(`${base}[hosted_confirmation][custom_message]`) || null;
    if (customMessage !== null && customMessage.length > MAX_CUSTOM_MESSAGE) {
      return invalid(`${base}[hosted_confirmation][custom_message]`, `Invalid string: must be at most ${MAX_CUSTOM_MESSAGE} characters`);
    }
    return { type, customMessage };
  }
  return { type: "portal_homepage" };
}

function parseConfirmItem(params: URLSearchParams, has: (prefix: string) => boolean, subscription: EmulatedSubscription) {
  const base = "flow_data[subscription_update_confirm]";
  if (has(`${base}[discounts]`)) {
    const discount = params.get(`${base}[discounts][0][coupon]`) ?? params.get(`${base}[discounts][0][promotion_code]`) ?? "";
    return noSuch("coupon", discount, `${base}[discounts][0]`);
  }
  if (!has(`${base}[items]`)) return missing(`${base}[items]`);
  if (has(`${base}[items][1]`)) return invalid(`${base}[items]`, "Only one subscription item can be updated in a subscription_update_confirm flow.");
  const id = params.get(`${base}[items][0][id]`);
  if (!id) return missing(`${base}[items][0][id]`);
  if (id !== subscription.itemId) return noSuch("subscription item", id, `${base}[items][0][id]`);
  const price = params.get(`${base}[items][0][price]`) || null;
  if (price !== null && !findPlanByPrice(price)) return noSuch("price", price, `${base}[items][0][price]`);
  const quantity = params.get(`${base}[items][0][quantity]`);
  // Every emulated subscription has one item of quantity 1; another quantity would be silently wrong, so it is refused.
  if (quantity !== null && quantity !== "1") return invalid(`${base}[items][0][quantity]`, "The emulator models quantity 1 only.");
  return { id, price, quantity: quantity === null ? null : 1 };
}

function isEmulatedFlowType(type: string): type is StripeFlowType {
  return (EMULATED_FLOW_TYPES as readonly string[]).includes(type);
}

export function findPlanByPrice(price: string): EmulatedPlan | undefined {
  return EMULATED_PLANS.find((plan) => plan.stripePriceId === price);
}

/** The session's `flow` object as Stripe returns it (stripe-node 22's `BillingPortal.Session.Flow`). */
export function flowObject(flow: StripePortalFlow) {
  const { afterCompletion: after, subscriptionId, type } = flow;
  return {
    type,
    after_completion: {
      type: after.type,
      hosted_confirmation: after.type === "hosted_confirmation" ? { custom_message: after.customMessage } : null,
      redirect: after.type === "redirect" ? { return_url: after.returnUrl } : null,
    },
    customer_update: null,
    subscription_cancel: type === "subscription_cancel" ? { subscription: subscriptionId, retention: null } : null,
    subscription_pause: null,
    subscription_update: type === "subscription_update" ? { subscription: subscriptionId } : null,
    subscription_update_confirm:
      type === "subscription_update_confirm" && flow.item
        ? {
            subscription: subscriptionId,
            items: [{ id: flow.item.id, price: flow.item.price, ...(flow.item.quantity === null ? {} : { quantity: flow.item.quantity }) }],
            discounts: [],
          }
        : null,
  };
}

function missing(param: string) {
  return { error: { type: "invalid_request_error", code: "parameter_missing", param, message: `Missing required param: ${param}.` } };
}

function invalid(param: string, message: string) {
  return { error: { type: "invalid_request_error", param, message } };
}

function noSuch(what: string, id: string, param: string) {
  return { error: { type: "invalid_request_error", code: "resource_missing", param, message: `No such ${what}: '${id}'` } };
}
