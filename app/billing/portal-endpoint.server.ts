import { type BillingEndpoint, createBillingEndpoint, type SignedIn } from "./billing-endpoint.server.ts";
import type { PortalFlash } from "./portal-flash.server.ts";
import type { BillingPortal } from "./portal.server.ts";

const ACCOUNT_PATH = "/account";

/**
 * The billing portal's doors: the account page's form (`/billing/portal`,
 * which also speaks JSON to clients that ask) and the seed's JSON API
 * (`/api/payments/portal`), over the shared billing endpoint.
 */
export function createPortalEndpoint(deps: {
  portal: BillingPortal;
  flash: PortalFlash;
  appOrigin: string;
  /** The signed-in user (with their customers, so the portal reads none itself), or null. */
  identify: (request: Request) => Promise<SignedIn | null>;
}): BillingEndpoint {
  return createBillingEndpoint({
    action: "portal",
    run: (request) => deps.portal.open(request),
    flash: deps.flash,
    appOrigin: deps.appOrigin,
    identify: deps.identify,
    loginReturnPath: ACCOUNT_PATH,
    pageFor: () => ACCOUNT_PATH,
  });
}
