import { createContext, data, redirect, type MiddlewareFunction, type RouterContextProvider } from "react-router";
import { isJsonRequest } from "~/billing/billing-endpoint.server.ts";
import { FEATURE_NAMES, PLANS, type Feature } from "~/billing/plans.ts";
import { recordSignedInUser } from "~/http/request-info.ts";
import { billingOwnerOf, type BillingOwner } from "~/orgs/billing-owner.ts";
import { auth, services } from "~/services.server.ts";
import type { Entitlements, OwnerSubscriptionRow } from "./entitlements.ts";
import type { UpgradeRequired } from "./upgrade-page.tsx";

/**
 * What a gated route knows about its owner: who (the current organisation), what the owner has now, and the
 * subscriptions it was decided from. Set by `requireOwner` / `requireFeature`; decided from the rows the one session
 * statement read (ADR 030), so a gate costs no query of its own.
 */
export type OwnerEntitlements = { owner: BillingOwner; entitlements: Entitlements; subscriptions: OwnerSubscriptionRow[] };

export const ownerEntitlementsContext = createContext<OwnerEntitlements | null>(null);

/** A JSON client as the SPEC says (`Content-Type: application/json`, or an `Accept` preferring JSON), or an `/api/` door. */
export function wantsJson(request: Request): boolean {
  return new URL(request.url).pathname.startsWith("/api/") || isJsonRequest(request);
}

async function ownerEntitlements(request: Request, context: Readonly<RouterContextProvider>): Promise<OwnerEntitlements> {
  const known = context.get(ownerEntitlementsContext);
  if (known) return known;
  const user = await auth.getUser(request);
  const owner = billingOwnerOf(user);
  if (!user || !owner) {
    if (wantsJson(request)) throw Response.json({ error: "Unauthorized" }, { status: 401, headers: { "Cache-Control": "no-store" } });
    const url = new URL(request.url);
    throw redirect(`/login?redirectTo=${encodeURIComponent(`${url.pathname}${url.search}`)}`, 303);
  }
  recordSignedInUser(context as RouterContextProvider, user.id);
  const state = { owner, entitlements: services.entitlements.decide(user.subscriptions), subscriptions: user.subscriptions };
  (context as RouterContextProvider).set(ownerEntitlementsContext, state);
  return state;
}

/** The signed-in owner's entitlements, for routes after `requireOwner()` or `requireFeature()`. */
export function entitlementsFrom(context: Readonly<RouterContextProvider>): OwnerEntitlements {
  const state = context.get(ownerEntitlementsContext);
  if (!state) throw new Error("entitlementsFrom: the route has no requireOwner()/requireFeature() middleware");
  return state;
}

/** Signed in with a current organisation; else a page goes to login and back, JSON gets 401. */
export function requireOwner(): MiddlewareFunction<Response> {
  return async ({ request, context }, next) => {
    await ownerEntitlements(request, context);
    return next();
  };
}

/**
 * The route needs `feature` (SPEC "Entitlements"): without it a page answers 403 with the reason and an "Upgrade"
 * link, a JSON request `403 {"error":"Upgrade required","feature":"..."}`.
 */
export function requireFeature(feature: Feature): MiddlewareFunction<Response> {
  return async ({ request, context }, next) => {
    const { owner, entitlements, subscriptions } = await ownerEntitlements(request, context);
    if (entitlements.features[feature]) return next();
    if (wantsJson(request)) {
      throw Response.json({ error: "Upgrade required", feature }, { status: 403, headers: { "Cache-Control": "no-store" } });
    }
    throw data(upgradeRequired(feature, entitlements, owner.canManageBilling ? (subscriptions.length > 0 ? "change_plan" : "pricing") : "ask-owner"), {
      status: 403,
    });
  };
}

export function upgradeRequired(feature: Feature, entitlements: Entitlements, through: UpgradeRequired["upgrade"]["through"]): UpgradeRequired {
  const plans = PLANS.filter((plan) => plan.features[feature]).map((plan) => plan.name);
  const name = FEATURE_NAMES[feature];
  return {
    upgrade: {
      feature,
      reason: `${name} are part of ${plans.join(" and ")}. Your plan (${entitlements.planName}) does not include them.`,
      through,
    },
  };
}
