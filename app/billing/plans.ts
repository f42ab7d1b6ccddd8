/**
 * The plan catalogue: what a user can subscribe to. Importable everywhere
 * (pages, server, the emulator): it holds data only, no provider code.
 *
 * Each provider knows a plan by its own id (Stripe price, Polar product,
 * Lemon Squeezy variant). In production those ids are configuration (each
 * provider module declares its variables, e.g. STRIPE_PRICE_PRO); in
 * emulated mode the demo ids below are used, and the emulator knows them.
 */
export const PLANS = [
  { id: "starter", name: "Starter", priceText: "$9 / month", interval: "month", perSeat: false },
  { id: "pro", name: "Pro", priceText: "$29 / month", interval: "month", perSeat: false },
  // Per seat: checkout's quantity is the organisation's member count, and follows it (SPEC "Organisations and seats").
  { id: "team", name: "Team", priceText: "$12 / seat / month", interval: "month", perSeat: true },
] as const satisfies readonly Plan[];

export type Plan = {
  id: string;
  name: string;
  priceText: string;
  interval: "month" | "year";
  /** Billed per member of the organisation: the subscription's quantity is its member count. */
  perSeat: boolean;
};
export type PlanId = (typeof PLANS)[number]["id"];
export const PLAN_IDS = PLANS.map((plan) => plan.id) as readonly PlanId[] as readonly [PlanId, ...PlanId[]];

export function findPlan(id: unknown): (typeof PLANS)[number] | undefined {
  return PLANS.find((plan) => plan.id === id);
}

/** Whether a plan (or plan id) is billed per seat. */
export function isPerSeat(plan: Plan | string | null | undefined): boolean {
  const found = typeof plan === "string" ? findPlan(plan) : plan;
  return found?.perSeat === true;
}

/** The demo catalogue's provider ids, shared with the emulator (contract: plans known to the emulator). */
export const DEMO_PLAN_PROVIDER_IDS = {
  stripe: { starter: "price_emulated_starter", pro: "price_emulated_pro", team: "price_emulated_team" },
  polar: {
    starter: "7d1c1c3e-0000-4000-8000-00000000a001",
    pro: "7d1c1c3e-0000-4000-8000-00000000a002",
    team: "7d1c1c3e-0000-4000-8000-00000000a003",
  },
  lemonsqueezy: { starter: "100001", pro: "100002", team: "100003" },
} as const satisfies Record<string, Record<PlanId, string>>;

/** Lemon Squeezy's checkout names a store as well as a variant; this is the emulator's. */
export const DEMO_LEMONSQUEEZY_STORE_ID = "90001";
