import { Form, data, useNavigation } from "react-router";
import type { Route } from "./+types/account";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { auth, flash, portal } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Your account · PortalStack" }];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const customer = await portal.findCustomer(user.id);
  const { message, headers } = await flash.take(request);
  return data(
    {
      email: user.email,
      activeProvider: PROVIDER_NAMES[portal.activeProvider],
      customer: customer
        ? {
            provider: PROVIDER_NAMES[customer.provider],
            matchesActiveProvider: customer.provider === portal.activeProvider,
          }
        : null,
      message,
    },
    { headers },
  );
}

export default function Account({ loaderData }: Route.ComponentProps) {
  const { email, customer, activeProvider, message } = loaderData;
  const navigation = useNavigation();
  const opening = navigation.state !== "idle" && navigation.formAction === "/billing/portal";

  return (
    <main className="page">
      <h1>Your account</h1>
      {message ? (
        <p role="alert" className="alert alert-error">
          {message}
        </p>
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
        <dl className="facts">
          <dt>Payment provider</dt>
          <dd>{customer ? customer.provider : "Not set up yet"}</dd>
          <dt>Billing account</dt>
          <dd>{customer ? "Linked" : "Not linked"}</dd>
        </dl>
        <p className="muted">
          {customer
            ? customer.matchesActiveProvider
              ? `Manage your subscription, update your card, see invoices or cancel in ${customer.provider}'s secure customer portal.`
              : `Your billing account is with ${customer.provider}, but billing is now handled by ${activeProvider}.`
            : "You have no billing account yet. Once you subscribe to a plan, you can manage it here."}
        </p>
        <Form method="post" action="/billing/portal">
          <input type="hidden" name="returnUrl" value="/account" />
          <button type="submit" className="button primary" disabled={opening} aria-disabled={opening}>
            {opening ? "Opening billing portal…" : "Manage billing"}
          </button>
        </Form>
      </section>
    </main>
  );
}
