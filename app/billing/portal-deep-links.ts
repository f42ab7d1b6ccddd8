import type { PortalIntent, ProviderId } from "./providers/provider.ts";

/**
 * The portal actions each provider opens a page of its own for (SPEC "Beyond the portal": deep links), read from
 * each provider module's `createPortal` (its `deepLinked` answer; checked by tests/portal-deep-links.test.ts).
 * The account page offers a button only for these (SPEC "Account page": an action a provider cannot deep-link to
 * is not offered as if it could); the rest are found behind "Manage billing", and the page says so.
 */
export const PORTAL_DEEP_LINKS = {
  stripe: ["payment_method", "change_plan", "cancel"],
  // Lemon Squeezy's subscription has card-update and plan-change URLs; cancelling happens in its portal.
  lemonsqueezy: ["payment_method", "change_plan"],
  // Polar's portal has no deep links: every intent opens its home.
  polar: [],
} as const satisfies Record<ProviderId, readonly Exclude<PortalIntent, "manage">[]>;

export type SubscriptionAction = Exclude<PortalIntent, "manage">;

export const ACTION_WORDS: Record<SubscriptionAction, { button: string; phrase: string }> = {
  payment_method: { button: "Update payment method", phrase: "update your card" },
  change_plan: { button: "Change plan", phrase: "change plan" },
  cancel: { button: "Cancel subscription", phrase: "cancel" },
};

export function deepLinks(provider: ProviderId): readonly SubscriptionAction[] {
  return PORTAL_DEEP_LINKS[provider];
}
