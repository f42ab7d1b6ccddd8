import { Form, data, useNavigation } from "react-router";
import type { Route } from "./+types/pricing";
import { FlashMessage } from "~/billing/flash-message.tsx";
import { PLANS } from "~/billing/plans.ts";
import { auth, flash } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Pricing · PortalStack" }];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.getUser(request);
  const { message, headers } = await flash.take(request);
  return data({ signedIn: Boolean(user), message }, { headers });
}

export default function Pricing({ loaderData }: Route.ComponentProps) {
  const { signedIn, message } = loaderData;
  const navigation = useNavigation();
  const pendingPlan = navigation.state !== "idle" && navigation.formAction === "/billing/checkout" ? navigation.formData?.get("plan") : null;

  return (
    <main className="page">
      <h1>Choose a plan</h1>
      <p className="lead">Pay securely with our payment provider. Change or cancel any time from your account.</p>
      <FlashMessage message={message} />
      <ul className="plans">
        {PLANS.map((plan) => (
          <li key={plan.id} className="card plan">
            <h2 id={`plan-${plan.id}`}>{plan.name}</h2>
            <p className="price">{plan.priceText}</p>
            {/* Signed out, the checkout sends the browser to log in and back here. */}
            <Form method="post" action="/billing/checkout" aria-labelledby={`plan-${plan.id}`}>
              <input type="hidden" name="plan" value={plan.id} />
              <button type="submit" className="button primary" disabled={Boolean(pendingPlan)} aria-disabled={Boolean(pendingPlan)}>
                {pendingPlan === plan.id ? "Opening checkout…" : signedIn ? `Choose ${plan.name}` : `Log in to choose ${plan.name}`}
              </button>
            </Form>
          </li>
        ))}
      </ul>
    </main>
  );
}
