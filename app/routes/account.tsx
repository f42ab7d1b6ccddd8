import { useEffect } from "react";
import { Form, Link, data, useNavigation, useRevalidator } from "react-router";
import type { Route } from "./+types/account";
import { accountBillingView } from "~/billing/account-view.ts";
import { FlashMessage } from "~/billing/flash-message.tsx";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { auth, flash, portal, services } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Your account · PortalStack" }];

/** After checkout, the page asks again this often, this many times, for the subscription's webhook. */
const CONFIRM_EVERY_MS = 2000;
const CONFIRM_TRIES = 5;

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const rows = await services.database.prisma.user.findUniqueOrThrow({
    where: { id: user.id },
    select: {
      customers: { select: { provider: true }, orderBy: { createdAt: "asc" } },
      subscriptions: {
        select: { provider: true, plan: true, status: true, currentPeriodEnd: true, cancelAtPeriodEnd: true, providerUpdatedAt: true },
      },
    },
  });
  const { message, headers } = await flash.take(request);
  const billing = accountBillingView({
    activeProvider: portal.activeProvider,
    providerNames: PROVIDER_NAMES,
    ...rows,
    checkoutReturned: new URL(request.url).searchParams.get("checkout") === "success",
    now: new Date(),
  });
  return data({ email: user.email, billing, message }, { headers });
}

export default function Account({ loaderData }: Route.ComponentProps) {
  const { email, billing, message } = loaderData;
  const navigation = useNavigation();
  const opening = navigation.state !== "idle" && navigation.formAction === "/billing/portal";

  return (
    <main className="page">
      <h1>Your account</h1>
      <FlashMessage message={message} />
      {billing.confirming ? <ConfirmingSubscription /> : null}
      {billing.kind === "customer" && billing.confirmed ? (
        <output className="alert alert-success">Thank you! Your subscription is confirmed.</output>
      ) : null}

      <section className="card" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl className="facts">
          <dt>Email</dt>
          <dd data-testid="account-email">{email}</dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="billing-heading">
        <h2 id="billing-heading">Billing</h2>
        {billing.kind === "no-customer" ? (
          <>
            <p className="muted">You have no subscription yet.</p>
            <Link to="/pricing" className="button primary">
              Choose a plan
            </Link>
          </>
        ) : billing.kind === "other-provider" ? (
          <p data-testid="provider-mismatch">
            Your billing account is with {billing.customerProvider}, but billing is now handled by {billing.activeProvider}.
            Please contact support to move your subscription.
          </p>
        ) : (
          <>
            {billing.pastDue ? (
              <div role="alert" className="alert alert-warning">
                <p>Your last payment failed. Update your payment method to keep your subscription.</p>
                <Form method="post" action="/billing/portal">
                  <input type="hidden" name="returnUrl" value="/account" />
                  <button type="submit" className="button primary" disabled={opening} aria-disabled={opening}>
                    Update payment method
                  </button>
                </Form>
              </div>
            ) : null}
            <dl className="facts">
              <dt>Subscription</dt>
              <dd data-testid="subscription-summary">{billing.summary ?? "None yet"}</dd>
              <dt>Payment provider</dt>
              <dd>{billing.provider}</dd>
            </dl>
            <p className="muted">
              Manage your subscription, update your card, see invoices or cancel in {billing.provider}'s secure customer portal.
            </p>
            <div className="actions">
              <Form method="post" action="/billing/portal">
                <input type="hidden" name="returnUrl" value="/account" />
                <button type="submit" className="button primary" disabled={opening} aria-disabled={opening}>
                  {opening ? "Opening billing portal…" : "Manage billing"}
                </button>
              </Form>
              {billing.summary ? null : (
                <Link to="/pricing" className="button">
                  Choose a plan
                </Link>
              )}
            </div>
          </>
        )}
      </section>
    </main>
  );
}

/** Back from checkout before the provider's webhook: say so, and (with JavaScript) look again a few times. */
function ConfirmingSubscription() {
  // `revalidate` keeps its identity across revalidations, so the effect runs once per confirming episode.
  const { revalidate } = useRevalidator();
  useEffect(() => {
    let tries = 0;
    const timer = setInterval(() => {
      tries++;
      if (tries > CONFIRM_TRIES) clearInterval(timer);
      else void revalidate();
    }, CONFIRM_EVERY_MS);
    return () => clearInterval(timer);
  }, [revalidate]);
  return (
    <output className="alert alert-info">
      We are confirming your subscription with the payment provider. This usually takes a few seconds.{" "}
      <a href="/account?checkout=success">Check again</a>
    </output>
  );
}
