import { Link, isRouteErrorResponse } from "react-router";
import { PortalButton } from "~/billing/billing-actions.tsx";
import type { Feature } from "~/billing/plans.ts";

/** The 403 page's data (root ErrorBoundary): the reason, and where "Upgrade" leads. */
export type UpgradeRequired = {
  upgrade: {
    feature: Feature;
    reason: string;
    /**
     * A subscriber upgrades through the portal's plan change (the `change_plan` deep link), an owner without a
     * subscription on /pricing; a member who does not manage billing asks an owner or admin.
     */
    through: "change_plan" | "pricing" | "ask-owner";
  };
};

/** The upgrade reason a route's 403 carries (requireFeature), or null for any other error. */
export function upgradeOf(error: unknown): UpgradeRequired["upgrade"] | null {
  if (!isRouteErrorResponse(error) || error.status !== 403) return null;
  const body = error.data as Partial<UpgradeRequired> | null;
  return body && typeof body === "object" && body.upgrade ? body.upgrade : null;
}

/** The 403 page (SPEC "Entitlements"): the reason, and "Upgrade" (the plan change for a subscriber, else pricing). */
export function UpgradeRequiredPage({ upgrade }: { upgrade: UpgradeRequired["upgrade"] }) {
  return (
    <main className="page narrow">
      <title>Upgrade required · PortalStack</title>
      <h1>Upgrade required</h1>
      <p data-testid="upgrade-reason">{upgrade.reason}</p>
      <div className="actions">
        {upgrade.through === "ask-owner" ? (
          <p>Ask an owner or admin of your organisation to upgrade.</p>
        ) : upgrade.through === "change_plan" ? (
          <PortalButton intent="change_plan" label="Upgrade" returnUrl="/account" primary />
        ) : (
          <Link to="/pricing" className="button primary">
            Upgrade
          </Link>
        )}
      </div>
    </main>
  );
}
