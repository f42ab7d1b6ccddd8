import { createHmac, randomUUID } from "node:crypto";
import { Stripe } from "stripe";
import type { ProviderId } from "~/billing/providers/provider.ts";

/**
 * Provider events as each provider sends them (payload shape and signature
 * scheme, PROVIDERS.md §4), for webhook tests. Signing uses the providers' own
 * schemes: Stripe's SDK helper, Standard Webhooks for Polar, hex HMAC for
 * Lemon Squeezy.
 */

export type SubscriptionFacts = {
  userId: string | null;
  customerId: string;
  subscriptionId: string;
  /** The provider's own status word. */
  status: string;
  /** The provider's price / product / variant id. */
  planId: string;
  periodEnd: Date;
  cancelAtPeriodEnd?: boolean;
  /** The provider's time for this state. */
  at: Date;
  /** Ended (Stripe/Polar `ended_at`; Lemon Squeezy `ends_at` of an expired one). */
  endedAt?: Date;
  /** When the cancel was asked for (Stripe `canceled_at`, Polar `canceled_at`). */
  canceledAt?: Date;
  trialEnd?: Date;
  quantity?: number;
  /** The event type, when not the provider's "updated" one. */
  type?: string;
};

export type Delivery = { body: string; headers: Record<string, string> };

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

export function subscriptionEvent(provider: ProviderId, facts: SubscriptionFacts): { type: string; payload: unknown } {
  if (provider === "stripe") {
    const type = facts.type ?? "customer.subscription.updated";
    return {
      type,
      payload: {
        id: `evt_${randomUUID().replaceAll("-", "")}`,
        object: "event",
        type,
        created: seconds(facts.at),
        data: {
          object: {
            id: facts.subscriptionId,
            object: "subscription",
            customer: facts.customerId,
            status: facts.status,
            cancel_at_period_end: facts.cancelAtPeriodEnd ?? false,
            cancel_at: facts.cancelAtPeriodEnd ? seconds(facts.periodEnd) : null,
            canceled_at: facts.canceledAt ? seconds(facts.canceledAt) : null,
            ended_at: facts.endedAt ? seconds(facts.endedAt) : null,
            trial_end: facts.trialEnd ? seconds(facts.trialEnd) : null,
            metadata: facts.userId ? { user_id: facts.userId } : {},
            items: {
              object: "list",
              data: [
                {
                  id: "si_1",
                  object: "subscription_item",
                  price: { id: facts.planId },
                  quantity: facts.quantity ?? 1,
                  current_period_end: seconds(facts.periodEnd),
                },
              ],
            },
          },
        },
      },
    };
  }
  if (provider === "polar") {
    const type = facts.type ?? "subscription.updated";
    return {
      type,
      payload: {
        type,
        timestamp: facts.at.toISOString(),
        api_version: "2026-10",
        data: {
          id: facts.subscriptionId,
          status: facts.status,
          customer_id: facts.customerId,
          product_id: facts.planId,
          current_period_end: facts.periodEnd.toISOString(),
          cancel_at_period_end: facts.cancelAtPeriodEnd ?? false,
          ends_at: facts.endedAt?.toISOString() ?? (facts.cancelAtPeriodEnd ? facts.periodEnd.toISOString() : null),
          ended_at: facts.endedAt?.toISOString() ?? null,
          canceled_at: facts.canceledAt?.toISOString() ?? null,
          trial_end: facts.trialEnd?.toISOString() ?? null,
          seats: facts.quantity ?? null,
          modified_at: facts.at.toISOString(),
          customer: { id: facts.customerId, external_id: facts.userId },
        },
      },
    };
  }
  const type = facts.type ?? "subscription_updated";
  return {
    type,
    payload: {
      meta: { event_name: type, custom_data: facts.userId ? { user_id: facts.userId } : undefined },
      data: {
        type: "subscriptions",
        id: facts.subscriptionId,
        attributes: {
          customer_id: Number(facts.customerId),
          variant_id: Number(facts.planId),
          status: facts.status,
          cancelled: (facts.cancelAtPeriodEnd ?? false) || facts.status === "cancelled",
          renews_at: facts.periodEnd.toISOString(),
          ends_at: facts.endedAt?.toISOString() ?? (facts.cancelAtPeriodEnd ? facts.periodEnd.toISOString() : null),
          trial_ends_at: facts.trialEnd?.toISOString() ?? null,
          first_subscription_item: { id: 1, subscription_id: Number(facts.subscriptionId) || 1, price_id: 1, quantity: facts.quantity ?? 1 },
          updated_at: facts.at.toISOString(),
        },
      },
    },
  };
}

/** An event of a type the app does not act on, in the provider's shape. */
export function otherEvent(provider: ProviderId, type: string): { type: string; payload: unknown } {
  if (provider === "stripe") {
    return { type, payload: { id: `evt_${randomUUID().replaceAll("-", "")}`, object: "event", type, created: seconds(new Date()), data: { object: {} } } };
  }
  if (provider === "polar") return { type, payload: { type, timestamp: new Date().toISOString(), data: {} } };
  return { type, payload: { meta: { event_name: type }, data: { type: "license-keys", id: "1", attributes: {} } } };
}

export function sign(
  provider: ProviderId,
  event: { type: string; payload: unknown },
  secret: string,
  options: { at?: Date; id?: string } = {},
): Delivery {
  const body = JSON.stringify(event.payload);
  const at = options.at ?? new Date();
  if (provider === "stripe") {
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: seconds(at) });
    return { body, headers: { "Content-Type": "application/json", "Stripe-Signature": header } };
  }
  if (provider === "polar") {
    const id = options.id ?? `msg_${randomUUID()}`;
    const timestamp = String(seconds(at));
    // Standard Webhooks as Polar's SDK verifies it: the HMAC key is the secret's UTF-8 bytes.
    const signature = createHmac("sha256", secret).update(`${id}.${timestamp}.${body}`).digest("base64");
    return {
      body,
      headers: { "Content-Type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` },
    };
  }
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  return { body, headers: { "Content-Type": "application/json", "X-Event-Name": event.type, "X-Signature": signature } };
}

export function webhookRequest(url: string, delivery: Delivery): Request {
  return new Request(url, { method: "POST", headers: delivery.headers, body: delivery.body });
}
