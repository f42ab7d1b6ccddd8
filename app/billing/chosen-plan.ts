import { findPlan, type PlanId } from "./plans.ts";

/**
 * A plan chosen on the pricing page while signed out rides through login and signup as `?plan=` (SPEC "Plans and
 * checkout"). Only a catalogue plan id is ever taken from the URL or a form; anything else is dropped.
 */
export function chosenPlan(value: unknown): PlanId | null {
  return findPlan(value)?.id ?? null;
}

/** The plan a login's `redirectTo` carries when it leads back to the pricing page. */
export function chosenPlanOf(redirectTo: string): PlanId | null {
  if (!redirectTo.startsWith("/pricing")) return null;
  const url = new URL(redirectTo, "http://app.invalid");
  return url.pathname === "/pricing" ? chosenPlan(url.searchParams.get("plan")) : null;
}

export function pricingWith(plan: PlanId): string {
  return `/pricing?plan=${plan}`;
}
