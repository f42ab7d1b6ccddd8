import { TEST_CARD } from "./checkout.ts";
import { EMULATED_PLANS, type EmulatedPlan } from "./plans.ts";
import { escapeHtml } from "./portal-pages.ts";
import type { EmulatedSubscription } from "./subscriptions.ts";

/** What the portal page's forms (and the JSON test control) can do to a subscription. */
export const PORTAL_ACTIONS = ["cancel", "resume", "switch_plan", "update_card"] as const;
export type PortalAction = (typeof PORTAL_ACTIONS)[number];

export type PortalActionRequest = { action: PortalAction; plan?: EmulatedPlan["id"] };

/** Reads an action from form fields or JSON; a TypeError names what is wrong. */
export function parsePortalAction(fields: Record<string, unknown>): PortalActionRequest {
  const { action, plan } = fields;
  if (!PORTAL_ACTIONS.includes(action as PortalAction)) {
    throw new TypeError(`"action" must be one of ${PORTAL_ACTIONS.join(", ")}`);
  }
  if (plan === undefined || plan === "") return { action: action as PortalAction };
  if (!EMULATED_PLANS.some((candidate) => candidate.id === plan)) {
    throw new TypeError(`"plan" must be one of ${EMULATED_PLANS.map((candidate) => candidate.id).join(", ")}`);
  }
  return { action: action as PortalAction, plan: plan as EmulatedPlan["id"] };
}

/** What the page says after an action (its `notice` query parameter). */
export const NOTICES: Record<string, string> = {
  cancel: "Your subscription will end at the end of the billing period.",
  resume: "Your subscription will renew as usual.",
  switch_plan: "Your plan has been changed.",
  update_card: "Your card has been updated.",
  recovered: "Your card has been updated and the overdue payment was made.",
  unchanged: "Nothing to change.",
};

export function noticeFor(action: PortalAction, outcome: "changed" | "unchanged" | "recovered"): string {
  return outcome === "changed" ? action : outcome;
}

function form(action: string, label: string, extra = ""): string {
  return `<form method="post"><input type="hidden" name="action" value="${action}">${extra}<button type="submit">${escapeHtml(label)}</button></form>`;
}

const dateFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" });

/** The subscription section of the portal page: its state, and one form per action (no JavaScript needed). */
export function subscriptionPanel(subscription: EmulatedSubscription | undefined, notice: string | null): string {
  if (!subscription) return `<h2>Subscription</h2><p>No subscription.</p>`;
  const { plan } = subscription;
  const date = dateFormat.format(subscription.currentPeriodEnd);
  const status = subscription.status === "past_due" ? "Past due" : subscription.cancelAtPeriodEnd ? `Cancels on ${date}` : "Active";
  const other = EMULATED_PLANS.find((candidate) => candidate.id !== plan.id && !candidate.perSeat)!;
  const message = notice !== null && NOTICES[notice] ? `<p role="status" class="notice">${escapeHtml(NOTICES[notice])}</p>` : "";
  const pastDue =
    subscription.status === "past_due"
      ? `<p role="alert" class="alert">Your last payment failed. Update your card to pay ${escapeHtml(plan.priceText)} and keep ${escapeHtml(plan.name)}.</p>`
      : "";
  return `${message}${pastDue}
    <h2>Subscription</h2>
    <dl>
      <dt>Plan</dt><dd>${escapeHtml(plan.name)} (${escapeHtml(plan.priceText)})</dd>
      <dt>Seats</dt><dd>${subscription.quantity}</dd>
      <dt>Status</dt><dd>${escapeHtml(status)}</dd>
      <dt>${subscription.cancelAtPeriodEnd ? "Ends on" : "Renews on"}</dt><dd>${escapeHtml(date)}</dd>
      <dt>Card</dt><dd>${escapeHtml(subscription.card.brand)} ending ${escapeHtml(subscription.card.lastFour)}</dd>
    </dl>
    <div class="actions">
      ${subscription.cancelAtPeriodEnd ? form("resume", "Resume subscription") : form("cancel", "Cancel at period end")}
      <section id="change-plan">${form("switch_plan", `Switch to ${other.name} (${other.priceText})`, `<input type="hidden" name="plan" value="${other.id}">`)}</section>
      <section id="update-card">${form(
        "update_card",
        "Update card",
        `<label for="card">New card number (test card)</label><input id="card" name="card" inputmode="numeric" autocomplete="off" value="${TEST_CARD}" readonly>`,
      )}</section>
    </div>
    <style>
      .actions { display: grid; gap: .75rem; margin: 1rem 0; }
      .actions form { display: grid; gap: .4rem; }
      .actions input[name="card"] { font: inherit; padding: .5rem; border: 1px solid #8c959f; border-radius: 6px; max-width: 100%; box-sizing: border-box; }
      .actions button { font: inherit; padding: .6rem 1rem; border: 1px solid #1f2328; border-radius: 8px; background: #fff; color: #1f2328; cursor: pointer; }
      .actions button:focus-visible, a:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
      .notice { padding: .5rem .75rem; border-radius: 8px; background: #dafbe1; }
      .alert { padding: .5rem .75rem; border-radius: 8px; background: #ffebe9; }
    </style>`;
}
