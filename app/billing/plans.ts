/**
 * The plan catalogue: what a user can subscribe to and what each plan gives. Importable everywhere (pages,
 * server, the emulator): it holds data only, no provider code.
 *
 * Each provider knows a plan by its own id (Stripe price, Polar product, Lemon Squeezy variant). In production
 * those ids are configuration (each provider module declares its variables, e.g. STRIPE_PRICE_PRO); in emulated
 * mode the demo ids below are used, and the emulator knows them.
 *
 * What a plan gives (SPEC "Entitlements"): features are on/off, limits are numbers. An owner without a paying
 * subscription gets FREE_TIER. `app/entitlements/` decides which of these an owner has at a given time.
 */

/** Features a plan switches on. Adding one here makes every plan (and the free tier) say whether it has it. */
export const FEATURES = ["reports"] as const;
export type Feature = (typeof FEATURES)[number];

/** Limits a plan sets (counts of things an owner may have). */
export const LIMITS = ["projects"] as const;
export type LimitName = (typeof LIMITS)[number];

export type Grants = {
  features: Readonly<Record<Feature, boolean>>;
  limits: Readonly<Record<LimitName, number>>;
};

export type Interval = "month" | "year";

export type Price = {
  /** In cents, as every provider counts money. */
  amount: number;
  currency: "usd";
  /** How the pricing page says it. */
  text: string;
};

export type Plan = Grants & {
  id: string;
  name: string;
  /** The price of the plan's main interval (`interval`), as the pricing page says it. */
  priceText: string;
  /** The interval checkout uses. */
  interval: Interval;
  /** Every interval the plan is sold at; the pricing page offers a choice where there are two. */
  prices: Partial<Record<Interval, Price>> & Record<"month", Price>;
  /** Days of free trial a first checkout starts; 0 = none (SPEC "Plans and checkout": trials). */
  trialDays: number;
  /** Billed per member of the organisation: the subscription's quantity is its member count. */
  perSeat: boolean;
};

export const PLANS = [
  {
    id: "starter",
    name: "Starter",
    priceText: "$9 / month",
    interval: "month",
    prices: { month: { amount: 900, currency: "usd", text: "$9 / month" } },
    trialDays: 0,
    features: { reports: false },
    limits: { projects: 3 },
    perSeat: false,
  },
  {
    id: "pro",
    name: "Pro",
    priceText: "$29 / month",
    interval: "month",
    prices: {
      month: { amount: 2900, currency: "usd", text: "$29 / month" },
      year: { amount: 29000, currency: "usd", text: "$290 / year" },
    },
    trialDays: 14,
    features: { reports: true },
    limits: { projects: 50 },
    perSeat: false,
  },
  // Per seat: checkout's quantity is the organisation's member count, and follows it (SPEC "Organisations and seats").
  {
    id: "team",
    name: "Team",
    priceText: "$12 / seat / month",
    interval: "month",
    prices: { month: { amount: 1200, currency: "usd", text: "$12 / seat / month" } },
    trialDays: 0,
    features: { reports: true },
    limits: { projects: 50 },
    perSeat: true,
  },
] as const satisfies readonly Plan[];

/** What an owner without a paying subscription has. */
export const FREE_TIER = {
  id: "free",
  name: "Free",
  features: { reports: false },
  limits: { projects: 1 },
} as const satisfies Grants & { id: "free"; name: string };

export type PlanId = (typeof PLANS)[number]["id"];
export const PLAN_IDS = PLANS.map((plan) => plan.id) as readonly PlanId[] as readonly [PlanId, ...PlanId[]];

export function findPlan(id: unknown): (typeof PLANS)[number] | undefined {
  return PLANS.find((plan) => plan.id === id);
}

/** Words for the pricing and account pages. */
export const FEATURE_NAMES: Record<Feature, string> = { reports: "Reports" };
export const LIMIT_NAMES: Record<LimitName, { one: string; many: string }> = { projects: { one: "project", many: "projects" } };

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
