import { z } from "zod";
import { PLAN_IDS, type PlanId } from "~/billing/plans.ts";

/**
 * Building blocks for environment variables, shared by the app's schema
 * (env.server.ts) and the provider modules' own fragments. Messages start
 * with "must" and never include the value.
 */
export const emptyAsUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

export const optionalString = z.preprocess(emptyAsUndefined, z.string().trim().optional());

export function optionalMatching(pattern: RegExp, message: string) {
  return z.preprocess(emptyAsUndefined, z.string().trim().regex(pattern, message).optional());
}

/** One variable per plan, named `${prefix}_${PLAN}` (STRIPE_PRICE_PRO...), so a new plan needs no provider edit. */
export function planVariables<Prefix extends string, Schema extends z.ZodType>(prefix: Prefix, schema: Schema) {
  return Object.fromEntries(PLAN_IDS.map((plan) => [planVariable(prefix, plan), schema])) as {
    [P in PlanId as `${Prefix}_${Uppercase<P>}`]: Schema;
  };
}

export function planVariable<Prefix extends string, P extends PlanId>(prefix: Prefix, plan: P): `${Prefix}_${Uppercase<P>}` {
  return `${prefix}_${plan.toUpperCase() as Uppercase<P>}`;
}

/** The plan ids read from `${prefix}_${PLAN}` variables, with the demo ids filling gaps when emulated. */
export function planSettings(
  env: Record<string, unknown>,
  prefix: string,
  demo: Record<PlanId, string>,
  emulated: boolean,
): Partial<Record<PlanId, string>> {
  const plans: Partial<Record<PlanId, string>> = {};
  for (const plan of PLAN_IDS) {
    const configured = env[planVariable(prefix, plan)];
    const id = typeof configured === "string" ? configured : emulated ? demo[plan] : undefined;
    if (id) plans[plan] = id;
  }
  return plans;
}
