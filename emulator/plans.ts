import { findPlan as findCataloguePlan } from "~/billing/plans.ts";
import type { ProviderId } from "~/billing/providers/provider.ts";

/**
 * The demo plan catalogue as the emulated providers know it (lifecycle
 * contract §1). Defined here until the app's `app/billing/plans.ts` exists;
 * then this module should re-export from there so both sides read one table.
 */
export type EmulatedPlan = {
  id: "starter" | "pro" | "team";
  name: string;
  priceText: string;
  /** In cents, as every provider counts money; per seat for a per-seat plan. */
  amount: number;
  /**
   * Sold per seat (SPEC "Organisations and seats"): Stripe and Lemon Squeezy take any quantity on any price, but
   * Polar takes `seats` only for a product with seat-based pricing (`amount_type: "seat_based"`), which this is.
   */
  perSeat: boolean;
  currency: "usd";
  interval: "month";
  stripePriceId: string;
  polarProductId: string;
  lemonSqueezyVariantId: string;
  /**
   * The free trial the provider's product has (Polar product `trial_interval`, Lemon Squeezy variant price trial);
   * the app's catalogue says how many days, so both sides tell one story. 0: none.
   */
  trialDays: number;
};

const trialDays = (id: string) => findCataloguePlan(id)?.trialDays ?? 0;

export const EMULATED_PLANS: readonly EmulatedPlan[] = [
  {
    id: "starter",
    name: "Starter",
    priceText: "$9 / month",
    amount: 900,
    perSeat: false,
    currency: "usd",
    interval: "month",
    stripePriceId: "price_emulated_starter",
    polarProductId: "7d1c1c3e-0000-4000-8000-00000000a001",
    lemonSqueezyVariantId: "100001",
    trialDays: trialDays("starter"),
  },
  {
    id: "pro",
    name: "Pro",
    priceText: "$29 / month",
    amount: 2900,
    perSeat: false,
    currency: "usd",
    interval: "month",
    stripePriceId: "price_emulated_pro",
    polarProductId: "7d1c1c3e-0000-4000-8000-00000000a002",
    lemonSqueezyVariantId: "100002",
    trialDays: trialDays("pro"),
  },
  {
    // Per seat: the subscription's quantity is the organisation's member count.
    id: "team",
    name: "Team",
    priceText: "$12 / seat / month",
    amount: 1200,
    perSeat: true,
    currency: "usd",
    interval: "month",
    stripePriceId: "price_emulated_team",
    polarProductId: "7d1c1c3e-0000-4000-8000-00000000a003",
    lemonSqueezyVariantId: "100003",
    trialDays: trialDays("team"),
  },
];

/** Polar's seat limits for a seat-based product (`seat_tiers.minimum_seats` / `maximum_seats`). */
export const POLAR_SEAT_LIMITS = { minimum: 1, maximum: 1000 } as const;

/** Lemon Squeezy's store in emulation (LEMONSQUEEZY_STORE_ID). */
export const LEMON_SQUEEZY_STORE_ID = "90001";

/** The id a provider gives this plan: Stripe price, Polar product, Lemon Squeezy variant. */
export function providerPlanId(provider: ProviderId, plan: EmulatedPlan): string {
  if (provider === "stripe") return plan.stripePriceId;
  if (provider === "polar") return plan.polarProductId;
  return plan.lemonSqueezyVariantId;
}

export function findPlanByProviderId(provider: ProviderId, id: string): EmulatedPlan | undefined {
  return EMULATED_PLANS.find((plan) => providerPlanId(provider, plan) === id);
}

export function findPlan(id: string): EmulatedPlan | undefined {
  return EMULATED_PLANS.find((plan) => plan.id === id);
}
