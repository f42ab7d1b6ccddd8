import { Form, data, useNavigation } from "react-router";
import type { Route } from "./+types/pricing";
import { PortalButton } from "~/billing/billing-actions.tsx";
import { FlashMessage } from "~/billing/flash-message.tsx";
import { FEATURE_NAMES, FEATURES, FREE_TIER, LIMIT_NAMES, LIMITS, PLANS, findPlan, type Grants } from "~/billing/plans.ts";
import { deepLinks } from "~/billing/portal-deep-links.ts";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "~/billing/subscription-status.ts";
import { billingOwnerOf } from "~/orgs/billing-owner.ts";
import { auth, flash, services } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [
  { title: "Pricing · PortalStack" },
];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.getUser(request);
  const { message, headers } = await flash.take(request);
  // A plan chosen before logging in or signing up comes back as ?plan=, taken only when the catalogue has it.
  const chosen = findPlan(new URL(request.url).searchParams.get("plan"))?.id ?? null;
  const { provider } = services.config.billing;
  const owner = billingOwnerOf(user);
  // A member who is not an owner or admin sees the plans, without billing buttons.
  const canBuy = !user || (owner?.canManageBilling ?? false);
  const current = owner
    ? await services.database.prisma.subscription.findFirst({
        where: { organizationId: owner.organizationId, provider, status: { in: [...LIVE_SUBSCRIPTION_STATUSES] } },
        select: { plan: true },
        orderBy: { providerUpdatedAt: "desc" },
      })
    : null;
  return data(
    {
      signedIn: Boolean(user),
      canBuy,
      message,
      chosen,
      currentPlan: current ? (findPlan(current.plan)?.id ?? "other") : null,
      // Switching is the portal's plan change: a page of its own where the provider has one, else its home.
      switchInPortalOf: deepLinks(provider).includes("change_plan") ? null : PROVIDER_NAMES[provider],
    },
    { headers },
  );
}

function GrantList({ grants }: { grants: Grants }) {
  return (
    <ul className="grants">
      {LIMITS.map((limit) => (
        <li key={limit}>
          {grants.limits[limit]} {grants.limits[limit] === 1 ? LIMIT_NAMES[limit].one : LIMIT_NAMES[limit].many}
        </li>
      ))}
      {FEATURES.map((feature) => (
        <li key={feature}>
          {FEATURE_NAMES[feature]}: {grants.features[feature] ? "included" : "not included"}
        </li>
      ))}
    </ul>
  );
}

export default function Pricing({ loaderData }: Route.ComponentProps) {
  const { signedIn, canBuy, message, chosen, currentPlan, switchInPortalOf } = loaderData;
  const navigation = useNavigation();
  const pendingPlan = navigation.state !== "idle" && navigation.formAction === "/billing/checkout" ? navigation.formData?.get("plan") : null;
  const chosenPlan = findPlan(chosen);

  return (
    <main className="page">
      <h1>Choose a plan</h1>
      <p className="lead">
        Pay securely with our payment provider. Change or cancel any time from
        your account.
      </p>
      <FlashMessage message={message} />
      {canBuy ? null : <p data-testid="billing-members-only">Only an owner or admin can manage billing.</p>}
      {chosenPlan && signedIn && canBuy && !currentPlan ? (
        <output className="alert" data-testid="chosen-plan">
          You chose {chosenPlan.name}: press “Choose {chosenPlan.name}” to continue to checkout.
        </output>
      ) : null}
      <ul className="plans">
        <li className="card plan">
          <h2 id="plan-free">{FREE_TIER.name}</h2>
          <p className="price">$0</p>
          <GrantList grants={FREE_TIER} />
          <p className="muted">{currentPlan ? "What you keep without a subscription." : signedIn ? "Your plan now." : "Every account starts here."}</p>
        </li>
        {PLANS.map((plan) => {
          const isCurrent = currentPlan === plan.id;
          const label = pendingPlan === plan.id ? "Opening checkout…" : signedIn ? `Choose ${plan.name}` : `Log in to choose ${plan.name}`;
          return (
            <li key={plan.id} className={plan.id === chosen ? "card plan chosen" : "card plan"} data-testid={`plan-${plan.id}`} aria-current={isCurrent ? "true" : undefined}>
              <h2 id={`plan-${plan.id}`}>
                {plan.name}
                {isCurrent ? <span className="badge"> Your plan</span> : null}
              </h2>
              <p className="price">{plan.prices.month.text}</p>
              {"year" in plan.prices ? <p className="muted">or {plan.prices.year.text} billed yearly</p> : null}
              {plan.trialDays > 0 ? <p data-testid={`trial-${plan.id}`}>{plan.trialDays}-day free trial on your first subscription</p> : null}
              <GrantList grants={plan} />
              {!canBuy ? null : isCurrent ? (
                <button type="button" className="button" disabled aria-disabled="true">
                  Current plan
                </button>
              ) : currentPlan ? (
                // A subscriber switches in the provider's portal (its plan change), never through a second checkout.
                <PortalButton
                  intent="change_plan"
                  label={switchInPortalOf ? `Switch to ${plan.name} in ${switchInPortalOf}'s portal` : `Switch to ${plan.name}`}
                  returnUrl="/account"
                />
              ) : (
                // Signed out, the checkout sends the browser to log in (or sign up) and back here with this plan.
                <Form method="post" action="/billing/checkout" aria-labelledby={`plan-${plan.id}`}>
                  <input type="hidden" name="plan" value={plan.id} />
                  <button
                    type="submit"
                    className={plan.id === chosen ? "button primary chosen" : "button primary"}
                    disabled={Boolean(pendingPlan)}
                    aria-disabled={Boolean(pendingPlan)}
                  >
                    {label}
                  </button>
                </Form>
              )}
            </li>
          );
        })}
      </ul>
    </main>
  );
}
