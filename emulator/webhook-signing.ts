import { createHmac, randomBytes } from "node:crypto";
import { Stripe } from "stripe";
import type { ProviderId } from "~/billing/providers/provider.ts";

/** One signing secret per provider: what the app's *_WEBHOOK_SECRET would hold. */
export type WebhookSecrets = Record<ProviderId, string>;

/** Secrets of the right shape for each provider, new for every emulator process (never written anywhere). */
export function generateWebhookSecrets(): WebhookSecrets {
  return {
    stripe: `whsec_${randomBytes(24).toString("base64url").replace(/[-_]/g, "0")}`,
    polar: `polar_whs_${randomBytes(24).toString("base64url")}`,
    // Lemon Squeezy accepts 6 to 40 characters.
    lemonsqueezy: randomBytes(16).toString("hex"),
  };
}

/** Why a configured secret cannot be used, or undefined when it can. */
export function secretProblem(provider: ProviderId, secret: string): string | undefined {
  if (secret.length === 0) return `"secrets.${provider}" must not be empty`;
  if (provider === "lemonsqueezy" && (secret.length < 6 || secret.length > 40)) {
    return `"secrets.lemonsqueezy" must be 6 to 40 characters, as Lemon Squeezy requires`;
  }
  return undefined;
}

export type SignedMessage = {
  /** The event's id: Stripe `evt_…`, Polar's `webhook-id`; Lemon Squeezy sends none. */
  id: string;
  body: string;
  /** Lemon Squeezy's `X-Event-Name`. */
  eventName: string;
  /** Unix seconds of this attempt (Stripe and Polar sign it). */
  timestamp: number;
};

/** The headers the provider sends with a webhook, signed with its real scheme. */
export function signedHeaders(provider: ProviderId, secret: string, message: SignedMessage): Record<string, string> {
  const json = { "content-type": "application/json" };
  if (provider === "stripe") {
    // The SDK's own signer, so the emulator and `constructEventAsync` cannot disagree.
    const header = Stripe.webhooks.generateTestHeaderString({ payload: message.body, secret, timestamp: message.timestamp });
    return { ...json, "stripe-signature": header, "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)" };
  }
  if (provider === "polar") {
    // Standard Webhooks; Polar keys the HMAC with the secret's UTF-8 bytes (its SDK's verifier tries those first).
    const signature = createHmac("sha256", secret)
      .update(`${message.id}.${message.timestamp}.${message.body}`)
      .digest("base64");
    return {
      ...json,
      "webhook-id": message.id,
      "webhook-timestamp": String(message.timestamp),
      "webhook-signature": `v1,${signature}`,
    };
  }
  return {
    ...json,
    "x-event-name": message.eventName,
    "x-signature": createHmac("sha256", secret).update(message.body).digest("hex"),
  };
}
