import { Form, data, useNavigation } from "react-router";
import type { Route } from "./+types/pricing";
import { FlashMessage } from "~/billing/flash-message.tsx";
import { PLANS } from "~/billing/plans.ts";
import { billingOwnerOf } from "~/orgs/billing-owner.ts";
import { auth, flash } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [
  { title: "Pricing · PortalStack" },
];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.getUser(request);
  const { message, headers } = await flash.take(request);
  // A member who is not an owner or admin sees the plans, without billing buttons.
  const canBuy = !user || (billingOwnerOf(user)?.canManageBilling ?? false);
  return data({ signedIn: Boolean(user), canBuy, message }, { headers });
}

export default function Pricing({ loaderData }: Route.ComponentProps) {
  const { signedIn, canBuy, message } = loaderData;
  const navigation = useNavigation();
  const pendingPlan =
    navigation.state !== "idle" && navigation.formAction === "/billing/checkout"
      ? navigation.formData?.get("plan")
      : null;

  return (
    <main className="page">
      <h1>Choose a plan</h1>
      <p className="lead">
        Pay securely with our payment provider. Change or cancel any time from
        your account.
      </p>
      <FlashMessage message={message} />
      {canBuy ? null : (
        <p data-testid="billing-members-only">
          Only an owner or admin can manage billing.
        </p>
      )}
      <ul className="plans">
        {PLANS.map((plan) => (
          <li key={plan.id} className="card plan">
            <h2 id={`plan-${plan.id}`}>{plan.name}</h2>
            <p className="price">{plan.priceText}</p>
            {/* Signed out, the checkout sends the browser to log in and back here. */}
            {canBuy ? (
              <Form
                method="post"
                action="/billing/checkout"
                aria-labelledby={`plan-${plan.id}`}
              >
                <input type="hidden" name="plan" value={plan.id} />
                <button
                  type="submit"
                  className="button primary"
                  disabled={Boolean(pendingPlan)}
                  aria-disabled={Boolean(pendingPlan)}
                >
                  {pendingPlan === plan.id
                    ? "Opening checkout…"
                    : signedIn
                      ? `Choose ${plan.name}`
                      : `Log in to choose ${plan.name}`}
                </button>
              </Form>
            ) : null}
          </li>
        ))}
      </ul>
    </main>
  );
}
