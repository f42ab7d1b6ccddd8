import { createHmac, randomUUID } from "node:crypto";
import * as fc from "fast-check";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { type GeneratedRequest, arbitraries } from "./arbitraries.ts";

/**
 * Webhook deliveries as a provider (or someone posing as one) might send
 * them: bodies of every shape, signed over their exact bytes with each
 * provider's scheme, or not signed, or signed wrongly.
 */

/** The secrets the suite starts the app with, so that it can sign (and the log check can look for them). */
export const WEBHOOK_SECRETS = {
  stripe: "whsec_hostileSuiteStripeSigningSecret7c41e0",
  polar: "polar_whs_hostileSuitePolarSigningSecret93ad2f",
  // Lemon Squeezy takes 6 to 40 characters.
  lemonsqueezy: "hostile-suite-lemon-secret-5be81d",
} as const satisfies Record<ProviderId, string>;

/** Generated bodies stay under the webhook doors' 1 MiB: the over-limit cases are written out in the test. */
const MAX_GENERATED_WEBHOOK_BODY = 900 * 1024;

/** A body cut to the cap (the test then expects what the cut bytes deserve). */
const capped = (body: Buffer) => (body.byteLength > MAX_GENERATED_WEBHOOK_BODY ? body.subarray(0, MAX_GENERATED_WEBHOOK_BODY) : body);

/** How a delivery is signed: only "valid" checks out; every other way must be refused with 400. */
export const SIGNINGS = ["valid", "none", "wrong-secret", "tampered", "stale", "other-provider", "garbage", "empty", "other-body", "other-id"] as const;
export type Signing = (typeof SIGNINGS)[number];

export type WebhookPlan = { body: Buffer; bodyKind: string; signing: Signing; garbage: string; headers: Record<string, string> };

const STRIPE_TYPES = [
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "checkout.session.completed",
  "invoice.paid",
];
const POLAR_TYPES = ["subscription.created", "subscription.updated", "subscription.active", "subscription.revoked", "customer.created", "customer.updated", "order.paid"];
const LEMON_TYPES = ["subscription_created", "subscription_updated", "subscription_expired", "subscription_payment_success", "order_created", "license_key_created"];
const STATUS_WORDS = ["active", "trialing", "past_due", "canceled", "cancelled", "paused", "unpaid", "incomplete", "incomplete_expired", "expired", "on_trial"];

export function webhookArbitraries(provider: ProviderId, appOrigin: string) {
  const a = arbitraries(appOrigin);
  const hostile = a.jsonValue;
  /** An id as providers write them, or any text, or one too long for an index. */
  const idText = (prefix: string) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.uuid().map((uuid) => `${prefix}${uuid.replaceAll("-", "")}`) },
      { weight: 2, arbitrary: a.text },
      { weight: 1, arbitrary: fc.string({ minLength: 3_000, maxLength: 6_000, unit: "grapheme" }) },
    );
  /** As `idText`, or not a string at all. */
  const id = (prefix: string) => fc.oneof({ weight: 9, arbitrary: idText(prefix) }, { weight: 1, arbitrary: hostile });
  /** A user id no account has: events naming one must change nothing. */
  const unknownUserId = fc.oneof(fc.uuid(), fc.constantFrom("", "0", "null", "admin", "' OR 1=1 --"), a.text, hostile);
  const status = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...STATUS_WORDS) }, { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString") }, { weight: 1, arbitrary: hostile });
  const seconds = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 4_102_444_800 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1e308, Number.MAX_SAFE_INTEGER) }, { weight: 1, arbitrary: hostile });
  const isoTime = fc.oneof({ weight: 5, arbitrary: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()) }, { weight: 1, arbitrary: hostile });
  const eventType = (known: readonly string[]) =>
    fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.constantFrom("", "constructor", "__proto__", "subscription.", "subscription_") }, { weight: 1, arbitrary: a.text });
  /**
   * The provider's envelope with hostile values inside. "tidy": the fields an event the app acts on has,
   * with hostile ids, user ids and times, so most reach the linking step as an unknown user; "loose": any
   * field now and then left out or swapped for anything.
   */
  const shaped = (loose: boolean): fc.Arbitrary<unknown> => {
    const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> =>
      loose ? fc.oneof({ weight: 4, arbitrary }, { weight: 1, arbitrary: hostile }, { weight: 1, arbitrary: fc.constant(undefined) }) : arbitrary;
    const oneId = (prefix: string) => (loose ? id(prefix) : idText(prefix));
    const word = loose ? status : fc.constantFrom(...STATUS_WORDS);
    if (provider === "stripe") {
      const subscription = fc.record({
        id: maybe(oneId("sub_")),
        object: fc.constant("subscription"),
        customer: maybe(fc.oneof(oneId("cus_"), oneId("cus_").map((customer) => ({ id: customer })))),
        status: maybe(word),
        cancel_at_period_end: maybe(fc.boolean()),
        cancel_at: maybe(fc.oneof(fc.constant(null), seconds)),
        metadata: maybe(fc.record({ user_id: unknownUserId })),
        items: maybe(fc.record({ data: fc.array(fc.record({ price: maybe(fc.record({ id: maybe(oneId("price_")) })), current_period_end: maybe(seconds) }), { maxLength: 3 }) })),
      });
      const session = fc.record({
        object: fc.constant("checkout.session"),
        mode: maybe(fc.constantFrom("subscription", "subscription", "payment", "setup")),
        customer: maybe(oneId("cus_")),
        client_reference_id: maybe(unknownUserId),
        metadata: maybe(fc.record({ user_id: unknownUserId })),
      });
      return fc.record({
        id: loose ? fc.oneof({ weight: 8, arbitrary: id("evt_") }, { weight: 1, arbitrary: fc.constant(undefined) }) : idText("evt_"),
        object: fc.constant("event"),
        type: maybe(eventType(STRIPE_TYPES)),
        created: maybe(seconds),
        data: maybe(fc.record({ object: loose ? fc.oneof(subscription, session, hostile) : fc.oneof(subscription, session) })),
      });
    }
    if (provider === "polar") {
      const customer = fc.record({ id: maybe(oneId("")), external_id: maybe(unknownUserId) });
      const subscription = fc.record({
        id: maybe(oneId("")),
        status: maybe(word),
        customer_id: maybe(oneId("")),
        product_id: maybe(oneId("")),
        current_period_end: maybe(isoTime),
        cancel_at_period_end: maybe(fc.boolean()),
        customer: maybe(customer),
      });
      return fc.record({
        type: maybe(eventType(POLAR_TYPES)),
        timestamp: loose ? maybe(isoTime) : fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        data: maybe(loose ? fc.oneof(subscription, customer, hostile) : fc.oneof(subscription, customer)),
      });
    }
    const attributes = fc.record({
      customer_id: maybe(fc.oneof(fc.integer({ min: 1 }), oneId(""))),
      variant_id: maybe(fc.oneof(fc.integer({ min: 1 }), oneId(""))),
      status: maybe(word),
      cancelled: maybe(fc.boolean()),
      renews_at: maybe(isoTime),
      ends_at: maybe(fc.oneof(fc.constant(null), isoTime)),
      updated_at: maybe(isoTime),
    });
    return fc.record({
      meta: maybe(fc.record({ event_name: maybe(eventType(LEMON_TYPES)), custom_data: maybe(fc.record({ user_id: unknownUserId })) })),
      data: maybe(
        fc.record({
          type: maybe(fc.constantFrom("subscriptions", "subscriptions", "orders", "license-keys")),
          id: maybe(fc.oneof(fc.integer({ min: 1 }), oneId(""))),
          attributes: maybe(attributes),
        }),
      ),
    });
  };
  const shapedEvent = fc.oneof({ weight: 2, arbitrary: shaped(false) }, { weight: 1, arbitrary: shaped(true) });

  /** The same value written out in ways a provider's serializer might: other bytes, same meaning. */
  const jsonText = fc.tuple(fc.constantFrom(...JSON_STYLES), fc.oneof({ weight: 4, arbitrary: shapedEvent }, { weight: 2, arbitrary: hostile })).map(([style, value]) => {
    const compact = JSON.stringify(value) ?? "null";
    const styled = style(value) ?? compact;
    return { kind: `json (${style.name})`, text: styled.length > MAX_GENERATED_WEBHOOK_BODY ? compact : styled };
  });
  const notJson = fc.tuple(jsonText, fc.nat(), fc.string({ unit: "binary", maxLength: 200 })).map(([{ text }, cut, noise]) => {
    const options = [text.slice(0, cut % Math.max(1, text.length)), `\uFEFF${text}`, `${text}${text}`, noise, "", " ", "{", "undefined", `payload=${encodeURIComponent(text)}`, `{"id":"evt_1",}`];
    return { kind: "not json", text: options[cut % options.length]! };
  });

  const body = fc.oneof(
    { weight: 6, arbitrary: jsonText.map(({ kind, text }) => ({ kind, body: capped(Buffer.from(text)) })) },
    { weight: 2, arbitrary: notJson.map(({ kind, text }) => ({ kind, body: capped(Buffer.from(text)) })) },
    // Bytes that are not UTF-8, some of them wrapped in JSON.
    { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean()).map(([bytes, wrapped]) => ({ kind: "raw bytes", body: wrapped ? Buffer.concat([Buffer.from('{"id":"evt_bytes","type":"'), Buffer.from(bytes), Buffer.from('"}')]) : Buffer.from(bytes) })) },
  );

  const contentType = fc.constantFrom(undefined, "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ";;;");
  // Header values the HTTP client can send (printable ASCII): the server's own parser is the raw-socket cases' business.
  const headerText = a.text.map((text) => text.replaceAll(/[^\x20-\x7e]/g, "").slice(0, 2_000));
  /**
   * Other headers a provider, a proxy or a forger might add. Never `Origin` or `Sec-Fetch-Site`: providers
   * send neither, and the app's cross-site check (server and root middleware) refuses them with 403 here too.
   */
  const extraHeaders = fc.record(
    {
      "User-Agent": fc.constantFrom("Stripe/1.0 (+https://stripe.com/docs/webhooks)", "polar-webhooks", "LemonSqueezy-Hookshot", "curl/8"),
      "X-Forwarded-For": a.forwardedFor.filter((value): value is string => value !== undefined),
      "X-Event-Name": fc.oneof(fc.constantFrom(...LEMON_TYPES), headerText),
    },
    { requiredKeys: [] },
  );

  const plan: fc.Arbitrary<WebhookPlan> = fc
    .record({
      delivered: body,
      // Half the deliveries carry a valid signature, half are refused one way or another.
      signing: fc.oneof(fc.constant<Signing>("valid"), fc.constantFrom(...SIGNINGS.filter((signing) => signing !== "valid"))),
      garbage: headerText,
      type: contentType,
      extra: extraHeaders,
    })
    .map(({ delivered, signing, garbage, type, extra }) => ({
      body: delivered.body,
      bodyKind: delivered.kind,
      signing,
      garbage,
      headers: { ...(type === undefined ? {} : { "Content-Type": type }), ...(extra as Record<string, string>) },
    }));

  return { plan };
}

/** Each a plain function, so a failure report can name the style. */
const JSON_STYLES: ((value: unknown) => string | undefined)[] = [
  function compact(value) {
    return JSON.stringify(value);
  },
  function indented(value) {
    return JSON.stringify(value, null, 2);
  },
  function tabsAndNewline(value) {
    return `${JSON.stringify(value, null, "\t")}\n`;
  },
  function surroundingWhitespace(value) {
    return ` \r\n${JSON.stringify(value)}\n\n`;
  },
  function asciiEscaped(value) {
    // Outside strings JSON has only ASCII, so every escape lands inside a string: same value, other bytes.
    return JSON.stringify(value)?.replaceAll(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  },
  function escapedSlashes(value) {
    return JSON.stringify(value)?.replaceAll("/", "\\/");
  },
];

/** The provider's signature headers over exactly these bytes. */
export function signatureHeaders(provider: ProviderId, body: Buffer, secret: string, options: { at?: Date; id?: string } = {}): Record<string, string> {
  const timestamp = Math.floor((options.at ?? new Date()).getTime() / 1000);
  if (provider === "stripe") {
    const signature = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
    return { "Stripe-Signature": `t=${timestamp},v1=${signature}` };
  }
  if (provider === "polar") {
    // Standard Webhooks, as Polar's SDK verifies it: the key is the secret's UTF-8 bytes.
    const id = options.id ?? `msg_${randomUUID()}`;
    const signature = createHmac("sha256", secret).update(`${id}.${timestamp}.`).update(body).digest("base64");
    return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` };
  }
  return { "X-Signature": createHmac("sha256", secret).update(body).digest("hex") };
}

/** The headers that name a signature, per provider: what the "garbage" and "empty" signings fill. */
const SIGNATURE_HEADER_NAMES: Record<ProviderId, string[]> = {
  stripe: ["Stripe-Signature"],
  polar: ["webhook-id", "webhook-timestamp", "webhook-signature"],
  lemonsqueezy: ["X-Signature"],
};

/** Signs (or mis-signs) the planned delivery now, just before it is sent, so that timestamps are fresh. */
export function webhookRequest(provider: ProviderId, plan: WebhookPlan): GeneratedRequest {
  const secret = WEBHOOK_SECRETS[provider];
  let body = plan.body;
  let signature: Record<string, string>;
  switch (plan.signing) {
    case "valid":
      signature = signatureHeaders(provider, body, secret);
      break;
    case "none":
      signature = {};
      break;
    case "wrong-secret":
      signature = signatureHeaders(provider, body, `${secret}-not`);
      break;
    case "tampered":
      signature = signatureHeaders(provider, body, secret);
      body = Buffer.concat([body, Buffer.from(" ")]);
      break;
    case "stale":
      // Lemon Squeezy's scheme has no timestamp: for it, a signature over the body with another secret.
      signature = provider === "lemonsqueezy" ? signatureHeaders(provider, body, "another-lemon-secret") : signatureHeaders(provider, body, secret, { at: new Date(Date.now() - 6 * 60_000) });
      break;
    case "other-provider": {
      const other = provider === "stripe" ? "lemonsqueezy" : "stripe";
      signature = signatureHeaders(other, body, WEBHOOK_SECRETS[other]);
      break;
    }
    case "garbage":
      signature = Object.fromEntries(SIGNATURE_HEADER_NAMES[provider].map((name) => [name, plan.garbage || "x"]));
      break;
    case "empty":
      signature = Object.fromEntries(SIGNATURE_HEADER_NAMES[provider].map((name) => [name, ""]));
      break;
    case "other-body":
      signature = signatureHeaders(provider, Buffer.from(`{"id":"evt_other","type":"other","body":${JSON.stringify(body.length)}}`), secret);
      break;
    case "other-id": {
      // Polar signs the delivery's id too; elsewhere a signature for the body with one byte more.
      signature = provider === "polar" ? { ...signatureHeaders(provider, body, secret), "webhook-id": `msg_${randomUUID()}` } : signatureHeaders(provider, Buffer.concat([body, Buffer.from("\n")]), secret);
      break;
    }
  }
  const headers = { ...plan.headers, ...signature };
  const path = `/webhooks/${provider}`;
  const description = `POST ${path} (${plan.bodyKind}, ${body.byteLength} bytes, signature ${plan.signing}) ${JSON.stringify(headers)} ${JSON.stringify(body.subarray(0, 300).toString("utf8"))}`;
  return { method: "POST", path, headers, body, description };
}
