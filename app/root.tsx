import { Links, Meta, Outlet, Scripts, ScrollRestoration, data, isRouteErrorResponse, redirect, useRouteLoaderData } from "react-router";
import type { Route } from "./+types/root";
import { auth, services } from "~/services.server.ts";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { DunningAlert } from "~/billing/billing-actions.tsx";
import { deepLinks } from "~/billing/portal-deep-links.ts";
import { UpgradeRequiredPage, upgradeOf } from "~/entitlements/upgrade-page.tsx";
import { isCrossSiteWrite } from "~/http/cross-site.ts";
import { otherLoopbackAddress } from "~/http/loopback.ts";
import { useNonce } from "~/http/nonce.ts";
import { recordSignedInUser } from "~/http/request-info.ts";
import { billingOwnerOf } from "~/orgs/billing-owner.ts";
import { SiteHeader } from "./ui/site-header.tsx";
import "./app.css";

export const middleware: Route.MiddlewareFunction[] = [
  // In development, a page opened on 127.0.0.1 or [::1] for localhost moves to APP_URL, where its forms pass the check below.
  ({ request }) => {
    if (services.config.mode === "production") return;
    const target = otherLoopbackAddress(request, services.config.appOrigin);
    if (target) throw redirect(target, 302);
  },
  // Every form and API on this app refuses cross-site writes (login CSRF, forced logout, portal opening).
  ({ request }, next) => {
    if (isCrossSiteWrite(request, services.config.appOrigin)) {
      throw data({ error: "Forbidden" }, { status: 403 });
    }
    return next();
  },
];

export async function loader({ request, context }: Route.LoaderArgs) {
  const user = await auth.getUser(request);
  if (user) recordSignedInUser(context, user.id);
  const { billing } = services.config;
  const owner = billingOwnerOf(user);
  return {
    user: user ? { email: user.email } : null,
    // The header's organisation switcher: the user's organisations and the current one.
    organizations: user ? { current: owner?.organizationId ?? null, list: await services.organizations.listFor(user.id) } : null,
    emulatedBilling: billing.emulated ? PROVIDER_NAMES[billing.provider] : null,
    // Dunning: a past-due subscription is flagged on every signed-in page of those who manage billing (its button is billing's).
    pastDue: owner?.canManageBilling ? await services.portal.hasPastDueSubscription(owner.organizationId) : false,
    // A provider without a card-update deep link (Polar): the alert's button says it opens the portal.
    paymentMethodInPortal: deepLinks(billing.provider).includes("payment_method") ? null : PROVIDER_NAMES[billing.provider],
  };
}

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App({ loaderData }: Route.ComponentProps) {
  const { user, organizations, emulatedBilling, pastDue, paymentMethodInPortal } = loaderData;
  return (
    <>
      <SiteHeader user={user} emulatedBilling={emulatedBilling} organizations={organizations} />
      {pastDue ? <DunningAlert portalName={paymentMethodInPortal} /> : null}
      <Outlet />
    </>
  );
}

export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  // The root loader's data when it ran (a page's own error); undefined on a 404 (no loader runs) or a refused request.
  const root = useRouteLoaderData<typeof loader>("root");
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const upgrade = upgradeOf(error);
  if (upgrade) {
    return (
      <>
        <SiteHeader user={root?.user} emulatedBilling={root?.emulatedBilling ?? null} />
        <UpgradeRequiredPage upgrade={upgrade} />
      </>
    );
  }
  const [title, text] =
    status === 404
      ? ["Page not found", "There is nothing at this address."]
      : status === 403
        ? ["Request refused", "This request came from another site, so we did not act on it."]
        : ["Something went wrong", "We could not finish that request. Please try again in a moment."];
  // An organisation door's refusal says why (app/orgs/authorization.ts), in its own fixed words.
  const refusal = status === 403 && isRouteErrorResponse(error) && typeof error.data === "string" ? error.data : null;
  return (
    <>
      <title>{`${title} · PortalStack`}</title>
      <SiteHeader user={root?.user} emulatedBilling={root?.emulatedBilling ?? null} />
      <main className="page narrow">
        <h1>{title}</h1>
        <p>{refusal ?? text}</p>
        <p>
          <a href="/">Back to the home page</a>
        </p>
      </main>
    </>
  );
}
