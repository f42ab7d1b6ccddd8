import type { ProviderId } from "~/billing/providers/provider.ts";
import type { EmulatedCustomer } from "./customers.ts";
import type { EmulatedPlan } from "./plans.ts";

/**
 * The emulator's own view of a subscription, provider-neutral; each
 * provider's payload builder turns it into that provider's object. Only the
 * states the lifecycle needs: active (possibly cancelling at period end) and
 * past_due (a renewal failed).
 */
export type EmulatedSubscription = {
  provider: ProviderId;
  id: string;
  customer: EmulatedCustomer;
  /**
   * What the provider keeps on the subscription from the checkout: Stripe
   * `subscription_data.metadata`, Polar's checkout `metadata`, Lemon Squeezy's
   * `checkout_data.custom` (sent back as `meta.custom_data`). Empty for the demo ones.
   */
  metadata: Metadata;
  plan: EmulatedPlan;
  /** `trialing` from a checkout that started a trial until its first renewal (Lemon Squeezy says `on_trial`). */
  status: "trialing" | "active" | "past_due";
  cancelAtPeriodEnd: boolean;
  /** Epoch ms. */
  createdAt: number;
  currentPeriodStart: number;
  currentPeriodEnd: number;
  canceledAt: number | null;
  /** Epoch ms; null (or absent, in a state file from before trials) without a trial. */
  trialStart?: number | null;
  trialEnd?: number | null;
  /** Strictly increases by at least a second per change, so "newer" survives second-resolution timestamps. */
  updatedAt: number;
  card: { brand: string; lastFour: string };
  /** The provider's order/invoice/checkout ids that created it, when it came from a checkout. */
  checkoutId: string | null;
  orderId: string | null;
  /** Stripe subscription item id / Lemon Squeezy first subscription item id. */
  itemId: string;
  /** Seats: Stripe's item `quantity`, Polar's `seats` (seat-based products only), Lemon Squeezy's item `quantity`. */
  quantity: number;
};

export type Metadata = Record<string, string | number | boolean>;

export const MONTH_MS = 30 * 24 * 60 * 60_000;
export const DAY_MS = 24 * 60 * 60_000;

/** One emulator's subscriptions: in memory, per instance, so tests on separate emulators never see each other's changes. */
export class SubscriptionStore {
  readonly #byKey = new Map<string, EmulatedSubscription>();
  readonly #listeners: (() => void)[] = [];

  constructor(private readonly now: () => number) {}

  /** Called after every change (emulator/state-file.ts keeps the state across restarts). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  add(subscription: EmulatedSubscription, options: { silent?: boolean } = {}): EmulatedSubscription {
    this.#byKey.set(key(subscription.provider, subscription.id), subscription);
    if (!options.silent) this.#changed();
    return subscription;
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  get(provider: ProviderId, id: string): EmulatedSubscription | undefined {
    return this.#byKey.get(key(provider, id));
  }

  /** The customer's most recent subscription. */
  forCustomer(provider: ProviderId, customerId: string): EmulatedSubscription | undefined {
    let latest: EmulatedSubscription | undefined;
    for (const subscription of this.#byKey.values()) {
      if (subscription.provider !== provider || subscription.customer.id !== customerId) continue;
      if (!latest || subscription.createdAt >= latest.createdAt) latest = subscription;
    }
    return latest;
  }

  list(provider?: ProviderId): EmulatedSubscription[] {
    return [...this.#byKey.values()].filter((subscription) => provider === undefined || subscription.provider === provider);
  }

  /** Applies a change and returns the state before it (for out-of-order deliveries). */
  update(subscription: EmulatedSubscription, change: Partial<EmulatedSubscription>): EmulatedSubscription {
    const before = structuredClone(subscription);
    Object.assign(subscription, change, { updatedAt: Math.max(this.now(), subscription.updatedAt + 1000) });
    this.#changed();
    return before;
  }
}

function key(provider: ProviderId, id: string): string {
  return `${provider}:${id}`;
}
