import { useEffect } from "react";
import { Form, Link, data, useNavigation, useRevalidator } from "react-router";
import type { Route } from "./+types/account";
import { accountBillingView } from "~/billing/account-view.ts";
import { activityLines } from "~/billing/activity-view.ts";
import { PortalButton } from "~/billing/billing-actions.tsx";
import { ACTION_WORDS } from "~/billing/portal-deep-links.ts";
import { FEATURE_NAMES, FEATURES } from "~/billing/plans.ts";
import type { Entitlements } from "~/entitlements/entitlements.ts";
import { FlashMessage } from "~/billing/flash-message.tsx";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { billingOwnerOf } from "~/orgs/billing-owner.ts";
import { auth, flash, portal, services } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [
  { title: "Your account · PortalStack" },
];

/**
 * After checkout, the waits before each new look for the subscription's webhook: every 2 s for half a minute, then
 * every 10 s up to two minutes. Five looks over 10 s were too few: a webhook that came after them (a busy provider,
 * or a busy app: it happened in CI) left the page saying "confirming" until the user clicked "Check again".
 */
const CONFIRM_WAITS_MS = [...Array.from({ length: 15 }, () => 2_000), ...Array.from({ length: 9 }, () => 10_000)];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const query = new URL(request.url).searchParams;
  const checkoutReturned = query.get("checkout") === "success";
  // Back from checkout: ask the provider for the checkout the URL names, so the plan shows on this first page.
  const owner = billingOwnerOf(user);
  if (!owner) throw new Response("Not Found", { status: 404 });
  await services.checkoutConfirmation.confirmReturn({ ...owner, email: user.email }, query);
  // The current organisation's billing: it is the billing owner (SPEC "Organisations and seats").
  const rows = await services.database.prisma.organization.findUniqueOrThrow({
    where: { id: owner.organizationId },
    select: {
      customers: { select: { provider: true }, orderBy: { createdAt: "asc" } },
      subscriptions: {
        select: {
          provider: true,
          plan: true,
          status: true,
          currentPeriodEnd: true,
          cancelAtPeriodEnd: true,
          providerUpdatedAt: true,
          endedAt: true,
          trialEnd: true,
          pastDueSince: true,
        },
      },
    },
  });
  // What the plan gives now and what is used (SPEC "Entitlements"), from the rows just read (after any confirmation).
  const entitlements = services.entitlements.decide(rows.subscriptions.map((row) => ({ ...row, endedAt: row.endedAt ?? null, trialEnd: row.trialEnd ?? null })));
  const plan = planSummary(entitlements, await services.projects.count(owner.organizationId));
  const { message, headers } = await flash.take(request);
  const activity = activityLines(
    await services.activity.recent(owner.organizationId, 10),
    PROVIDER_NAMES,
  );
  const billing = accountBillingView({
    activeProvider: portal.activeProvider,
    legacyProviders: services.config.billing.legacyProviders,
    providerNames: PROVIDER_NAMES,
    ...rows,
    checkoutReturned,
    now: new Date(),
  });
  const invoices = billing.kind === "customer" ? await services.invoices.recent(owner) : ({ kind: "none" } as const);
  const organization = {
    name: owner.organizationName,
    personal: owner.personal,
    role: owner.role,
    canManageBilling: owner.canManageBilling,
  };
  return data({ email: user.email, organization, billing, message, activity, invoices, plan }, { headers });
}

export default function Account({ loaderData }: Route.ComponentProps) {
  const { email, organization, billing, message, activity, invoices, plan } = loaderData;
  // Only owners and admins manage billing (SPEC): everyone else sees the plan and no billing button.
  const billingButtons = organization.canManageBilling;
  const navigation = useNavigation();
  const opening =
    navigation.state !== "idle" && navigation.formAction === "/billing/portal";

  return (
    <main className="page">
      <h1>Your account</h1>
      <FlashMessage message={message} />
      {billing.confirming ? <ConfirmingSubscription /> : null}
      {billing.kind === "customer" && billing.confirmed ? (
        <output className="alert alert-success">
          Thank you! Your subscription is confirmed.
        </output>
      ) : null}

      <section className="card" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl className="facts">
          <dt>Email</dt>
          <dd data-testid="account-email">{email}</dd>
        </dl>
        <p>
          <Link to="/settings">
            Change your password or email, or delete your account
          </Link>
        </p>
      </section>

      <section className="card" aria-labelledby="billing-heading">
        <h2 id="billing-heading">
          {organization.personal
            ? "Billing"
            : `Billing for ${organization.name}`}
        </h2>
        {organization.personal ? null : (
          <p className="muted" data-testid="billing-owner">
            Billed to the organisation {organization.name}; your role:{" "}
            {organization.role}.
          </p>
        )}
        {billingButtons ? null : (
          <p data-testid="billing-members-only">
            Only an owner or admin can manage billing.
          </p>
        )}
        {billing.kind === "no-customer" ? (
          <>
            <p className="muted">
              {organization.personal
                ? "You have no subscription yet."
                : "This organisation has no subscription yet."}
            </p>
            {billingButtons ? (
              <Link to="/pricing" className="button primary">
                Choose a plan
              </Link>
            ) : null}
          </>
        ) : billing.kind === "other-provider" ? (
          <p data-testid="provider-mismatch">
            Your billing account is with {billing.customerProvider}, but billing
            is now handled by {billing.activeProvider}. Please contact support
            to move your subscription.
          </p>
        ) : (
          <>
            {/* A past-due subscription's alert is in the root layout, on every signed-in page. */}
            <dl className="facts">
              <dt>Subscription</dt>
              <dd data-testid="subscription-summary">
                {billing.summary ?? "None yet"}
              </dd>
              <dt>Payment provider</dt>
              <dd>{billing.provider}</dd>
            </dl>
            {billing.legacy ? (
              <p data-testid="legacy-provider">
                Your subscription is held by {billing.legacy.heldBy}, our
                previous payment provider: the buttons below open{" "}
                {billing.legacy.heldBy}'s portal. New subscriptions are handled
                by {billing.legacy.activeProvider}.
              </p>
            ) : null}
            {billing.holdings.length > 0 ? (
              <ul data-testid="subscription-holdings">
                {billing.holdings.map((holding) => (
                  <li key={holding.provider}>
                    {holding.provider} holds: {holding.summary}
                  </li>
                ))}
              </ul>
            ) : null}
            {billing.liveSubscriptions.length > 1 ? (
              <div
                className="alert"
                role="note"
                data-testid="live-subscriptions"
              >
                <p>
                  You have {billing.liveSubscriptions.length} live
                  subscriptions. If you meant to have one, cancel the other in
                  the billing portal.
                </p>
                <ul>
                  {billing.liveSubscriptions.map((live, index) => (
                    <li key={index}>
                      {live.provider}: {live.summary}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
            {billingButtons ? (
              <>
                <p className="muted">
                  Manage your subscription, update your card, see invoices or cancel in {billing.provider}'s secure customer portal.
                </p>
                {billing.inPortalHome ? <p data-testid="portal-home-note">{billing.inPortalHome}</p> : null}
                <div className="actions">
                  <Form method="post" action="/billing/portal">
                    <input type="hidden" name="returnUrl" value="/account" />
                    <button type="submit" className="button primary" disabled={opening} aria-disabled={opening}>
                      {opening && !navigation.formData?.get("intent") ? "Opening billing portal…" : "Manage billing"}
                    </button>
                  </Form>
                  {billing.actions.map((action) => (
                    <PortalButton key={action} intent={action} label={ACTION_WORDS[action].button} returnUrl="/account" />
                  ))}
                  {billing.summary ? null : (
                    <Link to="/pricing" className="button">
                      Choose a plan
                    </Link>
                  )}
                </div>
              </>
            ) : null}
          </>
        )}
      </section>

      <section className="card" aria-labelledby="plan-heading">
        <h2 id="plan-heading">What your plan gives</h2>
        <p data-testid="plan-grants">
          {plan.name}
          {plan.note ? `: ${plan.note}` : ""}
        </p>
        <ul className="grants" data-testid="plan-usage">
          {plan.lines.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
        <p>
          <Link to="/projects">Your projects</Link> · <Link to="/reports">Reports</Link>
        </p>
      </section>

      {invoices.kind === "none" ? null : (
        <section className="card" aria-labelledby="invoices-heading">
          <h2 id="invoices-heading">Invoices</h2>
          {invoices.kind === "unavailable" ? (
            <p className="muted" data-testid="invoices-unavailable">
              {invoices.message}
            </p>
          ) : (
            <ul className="activity" data-testid="invoices">
              {invoices.invoices.map((invoice) => (
                <li key={invoice.key}>
                  <span>{invoice.date}</span>
                  <span>
                    {invoice.amount}, {invoice.status}
                    {invoice.url ? (
                      <>
                        {" "}
                        <a
                          href={invoice.url}
                          rel="noopener noreferrer"
                          aria-label={`View invoice of ${invoice.date}`}
                        >
                          View invoice
                        </a>
                      </>
                    ) : null}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}

      <section className="card" aria-labelledby="activity-heading">
        <h2 id="activity-heading">Recent billing activity</h2>
        {activity.length === 0 ? (
          <p className="muted">Nothing yet.</p>
        ) : (
          <ul className="activity" data-testid="billing-activity">
            {activity.map((line) => (
              <li key={line.key}>
                <time dateTime={line.at}>{line.when}</time>
                <span>{line.text}</span>
              </li>
            ))}
          </ul>
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lookAgain = (look: number) => {
      const wait = CONFIRM_WAITS_MS[look];
      if (wait === undefined) return;
      timer = setTimeout(() => {
        void revalidate();
        lookAgain(look + 1);
      }, wait);
    };
    lookAgain(0);
    return () => clearTimeout(timer);
  }, [revalidate]);
  return (
    <output className="alert alert-info">
      We are confirming your subscription with the payment provider. This
      usually takes a few seconds.{" "}
      <a href="/account?checkout=success">Check again</a>
    </output>
  );
}

const PLAN_DATE = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" });

/** The plan's grants in words: usage against each limit ("2 of 3 projects"), each feature, and why it lasts until when. */
function planSummary(entitlements: Entitlements, projects: number) {
  const limit = entitlements.limits.projects;
  const note = entitlements.graceUntil
    ? `kept until ${PLAN_DATE.format(entitlements.graceUntil)} while the payment is retried`
    : entitlements.trialEnd
      ? `trial ends on ${PLAN_DATE.format(entitlements.trialEnd)}`
      : entitlements.endsAt
        ? `until ${PLAN_DATE.format(entitlements.endsAt)}`
        : null;
  return {
    name: entitlements.planName,
    note,
    lines: [
      `${projects} of ${limit} ${limit === 1 ? "project" : "projects"}`,
      ...FEATURES.map((feature) => `${FEATURE_NAMES[feature]}: ${entitlements.features[feature] ? "included" : "not included"}`),
    ],
  };
}
