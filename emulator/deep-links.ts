import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { PROVIDER_NAMES, type ProviderId } from "~/billing/providers/provider.ts";
import { TEST_CARD } from "./checkout.ts";
import type { EmulatedCustomer } from "./customers.ts";
import type { EmulatorLifecycle } from "./lifecycle.ts";
import { EMULATED_PLANS, type EmulatedPlan } from "./plans.ts";
import { noticeFor, NOTICES, parsePortalAction, type PortalActionRequest } from "./portal-actions.ts";
import {
  escapeHtml,
  languageLine,
  layout,
  PAGE_HEADERS,
  portalLanguage,
  returnLink,
  type PortalLanguage,
  type PortalPages,
  type PortalSession,
} from "./portal-pages.ts";
import { findPlanByPrice, type StripePortalFlow } from "./stripe-portal-flows.ts";
import type { EmulatedSubscription } from "./subscriptions.ts";
import { type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

/** Lemon Squeezy signs its subscription URLs for 24 hours. */
const LEMON_SQUEEZY_URL_TTL_MS = 24 * 60 * 60_000;
const STRIPE_FLOW_ROUTE = /^\/portal\/stripe\/p\/session\/([^/]+)\/flow(\/complete)?$/;
/** Lemon Squeezy's own paths: `/subscription/:id/payment-details` and `/billing/:id/update` on the store's domain. */
const LEMON_SQUEEZY_ROUTE = /^\/portal\/lemonsqueezy\/(?:subscription\/([^/]+)\/payment-details|billing\/([^/]+)\/update)$/;

type LemonSqueezyLink = "payment-details" | "update";
export type LemonSqueezySubscriptionUrls = {
  update_payment_method: string;
  customer_portal: string;
  customer_portal_update_subscription: string;
};

/** What a deep-linked page shows and does: for one subscription, or (updating the card) all of a customer's. */
type DeepPage =
  | { kind: "update-card"; subscriptions: EmulatedSubscription[] }
  | { kind: "cancel"; subscription: EmulatedSubscription }
  | { kind: "switch-plan"; subscription: EmulatedSubscription }
  | { kind: "confirm-plan"; subscription: EmulatedSubscription; plan: EmulatedPlan };

type PageFrame = {
  provider: ProviderId;
  customer: EmulatedCustomer;
  language?: PortalLanguage;
  returnUrl: string;
  notice: string | null;
};

/**
 * The pages a provider's deep links open, on the emulator's origin: Stripe's
 * `flow_data` sessions (update card, cancel, switch plan, confirm a switch)
 * and Lemon Squeezy's signed subscription URLs (update card, switch plan).
 * Their forms are plain POSTs and fire the same events as the portal home's.
 */
export class DeepLinkPages {
  /** Signs Lemon Squeezy subscription URLs; new on every start. */
  readonly #signingKey = randomBytes(32);

  constructor(
    private readonly origin: string,
    private readonly appReturnUrl: string,
    private readonly now: () => number,
    private readonly portals: PortalPages,
    private readonly lifecycle: EmulatorLifecycle,
  ) {}

  /** A Lemon Squeezy subscription's `urls`: pre-signed, valid 24 h, each for this subscription only. */
  lemonSqueezySubscriptionUrls(subscription: EmulatedSubscription): LemonSqueezySubscriptionUrls {
    const expires = Math.floor((this.now() + LEMON_SQUEEZY_URL_TTL_MS) / 1000);
    const signed = (path: string, link: LemonSqueezyLink) =>
      `${this.origin}/portal/lemonsqueezy/${path}?expires=${expires}&signature=${this.#sign(link, subscription.id, expires)}`;
    return {
      update_payment_method: signed(`subscription/${encodeURIComponent(subscription.id)}/payment-details`, "payment-details"),
      customer_portal: this.portals.signLemonSqueezyUrl(subscription.customer).url,
      customer_portal_update_subscription: signed(`billing/${encodeURIComponent(subscription.id)}/update`, "update"),
    };
  }

  /** Answers a deep-linked page (GET) or its form (POST); undefined when the path is not a deep link. */
  handle(request: EmulatorRequest): Promise<EmulatorResponse> | undefined {
    const stripe = STRIPE_FLOW_ROUTE.exec(request.path);
    if (stripe) return this.#stripeFlow(request, decodeURIComponent(stripe[1]!), stripe[2] !== undefined);
    const lemon = LEMON_SQUEEZY_ROUTE.exec(request.path);
    if (lemon) {
      const link: LemonSqueezyLink = lemon[1] === undefined ? "update" : "payment-details";
      return this.#lemonSqueezyLink(request, link, decodeURIComponent(lemon[1] ?? lemon[2]!));
    }
    return undefined;
  }

  // ------------------------------------------------------------ Stripe

  async #stripeFlow(request: EmulatorRequest, token: string, complete: boolean): Promise<EmulatorResponse> {
    const homePath = `/portal/stripe/p/session/${encodeURIComponent(token)}`;
    const session = this.portals.session({ ...request, path: homePath, query: new URLSearchParams() });
    if (session === "expired") return errorPage(410, "This portal link has expired", this.appReturnUrl);
    if (!session?.flow) return errorPage(404, "This portal link is not valid", this.appReturnUrl);
    const { flow } = session;
    const frame: PageFrame = {
      provider: "stripe",
      customer: session.customer,
      language: portalLanguage(session.locale ?? null, request),
      returnUrl: session.returnUrl ?? this.appReturnUrl,
      notice: request.query.get("notice"),
    };
    if (complete) {
      if (request.method !== "GET") return methodNotAllowed("GET");
      const message = flow.afterCompletion.type === "hosted_confirmation" ? flow.afterCompletion.customMessage : null;
      return confirmationPage(frame, message);
    }
    const page = this.#stripePage(session, flow);
    if (request.method === "GET") return renderPage(frame, page, formTargets(flow));
    if (request.method !== "POST") return methodNotAllowed("GET, POST");

    const action = actionFor(page, new URLSearchParams(request.rawBody));
    if (action instanceof TypeError) return textPage(400, action.message);
    const notice = await this.#act(page, action);
    const after = flow.afterCompletion;
    if (after.type === "redirect") return redirect(after.returnUrl);
    if (after.type === "hosted_confirmation") return redirect(`${homePath}/flow/complete?notice=${notice}`);
    return redirect(`${homePath}?notice=${notice}`);
  }

  #stripePage(session: PortalSession, flow: StripePortalFlow): DeepPage {
    if (flow.type === "payment_method_update") {
      const subscriptions = this.lifecycle.subscriptions.list("stripe").filter((candidate) => candidate.customer.id === session.customer.id);
      return { kind: "update-card", subscriptions };
    }
    // The session was only issued for a subscription of this customer; subscriptions are never deleted.
    const subscription = this.lifecycle.subscriptions.get("stripe", flow.subscriptionId!)!;
    if (flow.type === "subscription_cancel") return { kind: "cancel", subscription };
    if (flow.type === "subscription_update") return { kind: "switch-plan", subscription };
    const plan = (flow.item?.price ? findPlanByPrice(flow.item.price) : undefined) ?? subscription.plan;
    return { kind: "confirm-plan", subscription, plan };
  }

  // ------------------------------------------------------------ Lemon Squeezy

  async #lemonSqueezyLink(request: EmulatorRequest, link: LemonSqueezyLink, subscriptionId: string): Promise<EmulatorResponse> {
    const verdict = this.#verify(link, subscriptionId, request.query);
    if (verdict === "invalid") return errorPage(403, "This link's signature is not valid", this.appReturnUrl);
    if (verdict === "expired") return errorPage(410, "This link has expired", this.appReturnUrl);
    const subscription = this.lifecycle.subscriptions.get("lemonsqueezy", subscriptionId);
    if (!subscription) return errorPage(404, "This subscription does not exist", this.appReturnUrl);
    const page: DeepPage = link === "payment-details" ? { kind: "update-card", subscriptions: [subscription] } : { kind: "switch-plan", subscription };
    const frame: PageFrame = { provider: "lemonsqueezy", customer: subscription.customer, returnUrl: this.appReturnUrl, notice: request.query.get("notice") };
    if (request.method === "GET") return renderPage(frame, page, []);
    if (request.method !== "POST") return methodNotAllowed("GET, POST");

    const action = actionFor(page, new URLSearchParams(request.rawBody));
    if (action instanceof TypeError) return textPage(400, action.message);
    const notice = await this.#act(page, action);
    const query = new URLSearchParams(request.query);
    query.set("notice", notice);
    return redirect(`${request.path}?${query}`);
  }

  #verify(link: LemonSqueezyLink, subscriptionId: string, query: URLSearchParams): "valid" | "invalid" | "expired" {
    const expires = Number(query.get("expires"));
    if (!Number.isInteger(expires)) return "invalid";
    const given = Buffer.from(query.get("signature") ?? "", "hex");
    const expected = Buffer.from(this.#sign(link, subscriptionId, expires), "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
    return expires * 1000 <= this.now() ? "expired" : "valid";
  }

  #sign(link: LemonSqueezyLink, subscriptionId: string, expires: number): string {
    return createHmac("sha256", this.#signingKey).update(`${link}:${subscriptionId}:${expires}`).digest("hex");
  }

  // ------------------------------------------------------------ shared

  /** Runs the page's action through the lifecycle (so the provider's real events fire); answers the notice to show. */
  async #act(page: DeepPage, action: PortalActionRequest): Promise<string> {
    const targets = page.kind === "update-card" ? page.subscriptions : [page.subscription];
    const outcomes: string[] = [];
    for (const subscription of targets) {
      outcomes.push(noticeFor(action.action, await this.lifecycle.act(subscription.provider, subscription.id, action)));
    }
    // Updating the card of a customer without subscriptions still updates the card.
    if (outcomes.length === 0) return noticeFor(action.action, "changed");
    return outcomes.includes("recovered") ? "recovered" : (outcomes.find((outcome) => outcome !== "unchanged") ?? "unchanged");
  }
}

/** The action a page's form asks for: fixed by the page, only the plan switcher lets the form choose (a plan). */
function actionFor(page: DeepPage, fields: URLSearchParams): PortalActionRequest | TypeError {
  switch (page.kind) {
    case "update-card":
      return { action: "update_card" };
    case "cancel":
      return { action: "cancel" };
    case "confirm-plan":
      return { action: "switch_plan", plan: page.plan.id };
    case "switch-plan":
      try {
        const request = parsePortalAction({ action: "switch_plan", plan: fields.get("plan") ?? undefined });
        return request.plan === undefined ? new TypeError(`"plan" is required`) : request;
      } catch (error) {
        return error as TypeError;
      }
  }
}

/** Where the page's form may lead: the after-completion redirect leaves this origin (form-action covers redirects). */
function formTargets(flow: StripePortalFlow): string[] {
  return flow.afterCompletion.type === "redirect" ? [new URL(flow.afterCompletion.returnUrl).origin] : [];
}

const dateFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" });

function renderPage(frame: PageFrame, page: DeepPage, formOrigins: string[]): EmulatorResponse {
  const titles = {
    "update-card": "Update payment method",
    cancel: "Cancel subscription",
    "switch-plan": "Change plan",
    "confirm-plan": "Confirm plan change",
  } as const;
  return framedPage(frame, titles[page.kind], sectionFor(page), formOrigins);
}

function sectionFor(page: DeepPage): string {
  switch (page.kind) {
    case "update-card": {
      const overdue = page.subscriptions.filter((subscription) => subscription.status === "past_due");
      const alerts = overdue
        .map((subscription) => `<p role="alert" class="alert">Your last payment for ${escapeHtml(subscription.plan.name)} (<code>${escapeHtml(subscription.id)}</code>) failed. Update your card to pay ${escapeHtml(subscription.plan.priceText)}.</p>`)
        .join("");
      const current = page.subscriptions[0]?.card;
      const only = page.subscriptions.length === 1 ? subscriptionFacts(page.subscriptions[0]!) : "";
      return `${alerts}${only}
    ${current ? `<p>Current card: ${escapeHtml(current.brand)} ending ${escapeHtml(current.lastFour)}</p>` : ""}
    <form method="post" id="update-card">
      <label for="card">New card number (test card)</label>
      <input id="card" name="card" inputmode="numeric" autocomplete="off" value="${TEST_CARD}" readonly>
      <button type="submit">Update card</button>
    </form>`;
    }
    case "cancel": {
      const { subscription } = page;
      const date = dateFormat.format(subscription.currentPeriodEnd);
      const action = subscription.cancelAtPeriodEnd
        ? `<p>This subscription already ends on ${escapeHtml(date)}.</p>`
        : `<p>If you cancel, ${escapeHtml(subscription.plan.name)} stays active until ${escapeHtml(date)} and does not renew.</p>
    <form method="post" id="cancel-subscription"><button type="submit">Cancel subscription</button></form>`;
      return `${subscriptionFacts(subscription)}${action}`;
    }
    case "switch-plan": {
      const { subscription } = page;
      // A per-seat plan is bought for an organisation's members (its checkout), not switched to here.
      const options = EMULATED_PLANS.filter((plan) => plan.id !== subscription.plan.id && !plan.perSeat)
        .map((plan) => `<form method="post"><input type="hidden" name="plan" value="${escapeHtml(plan.id)}"><button type="submit">Switch to ${escapeHtml(plan.name)} (${escapeHtml(plan.priceText)})</button></form>`)
        .join("\n    ");
      return `${subscriptionFacts(subscription)}
    <section id="change-plan">${options}</section>`;
    }
    case "confirm-plan": {
      const { subscription, plan } = page;
      return `${subscriptionFacts(subscription)}
    <p>New plan: ${escapeHtml(plan.name)} (${escapeHtml(plan.priceText)})</p>
    <form method="post" id="confirm-plan"><button type="submit">Confirm</button></form>`;
    }
  }
}

function subscriptionFacts(subscription: EmulatedSubscription): string {
  const date = dateFormat.format(subscription.currentPeriodEnd);
  const status = subscription.status === "past_due" ? "Past due" : subscription.cancelAtPeriodEnd ? `Cancels on ${date}` : "Active";
  return `<dl>
      <dt>Subscription</dt><dd><code>${escapeHtml(subscription.id)}</code></dd>
      <dt>Plan</dt><dd>${escapeHtml(subscription.plan.name)} (${escapeHtml(subscription.plan.priceText)})</dd>
      <dt>Status</dt><dd>${escapeHtml(status)}</dd>
    </dl>`;
}

function confirmationPage(frame: PageFrame, customMessage: string | null): EmulatorResponse {
  return framedPage(frame, "All done", `<p>${escapeHtml(customMessage ?? "Your changes have been saved.")}</p>`, []);
}

function framedPage(frame: PageFrame, title: string, section: string, formOrigins: string[]): EmulatorResponse {
  const name = PROVIDER_NAMES[frame.provider];
  const notice = frame.notice !== null && NOTICES[frame.notice] ? `<p role="status" class="notice">${escapeHtml(NOTICES[frame.notice]!)}</p>` : "";
  const formAction = ["'self'", ...formOrigins].join(" ");
  return {
    status: 200,
    headers: {
      ...PAGE_HEADERS,
      "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action ${formAction}`,
    },
    body: layout(
      `${title} - ${name} (emulated)`,
      `<p class="badge">Emulated ${escapeHtml(name)}</p>
    <h1>${escapeHtml(title)}</h1>
    <dl>
      <dt>Name</dt><dd>${escapeHtml(frame.customer.name)}</dd>
      <dt>Email</dt><dd>${escapeHtml(frame.customer.email)}</dd>
      <dt>Customer id</dt><dd><code>${escapeHtml(frame.customer.id)}</code></dd>
    </dl>
    ${frame.language ? languageLine(frame.language) : ""}
    ${notice}
    ${section}
    <p>This page stands in for ${escapeHtml(name)}'s hosted page. Nothing here is real billing data.</p>
    ${returnLink(frame.returnUrl)}
    <style>${DEEP_LINK_STYLE}</style>`,
      frame.language?.lang,
    ),
  };
}

const DEEP_LINK_STYLE = `
  form { display: grid; gap: .4rem; margin: 1rem 0; }
  input { font: inherit; padding: .5rem; border: 1px solid #8c959f; border-radius: 6px; max-width: 100%; box-sizing: border-box; }
  button { font: inherit; padding: .6rem 1rem; border: 1px solid #1f2328; border-radius: 8px; background: #fff; color: #1f2328; cursor: pointer; }
  button:focus-visible, a:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
  .notice { padding: .5rem .75rem; border-radius: 8px; background: #dafbe1; }
  .alert { padding: .5rem .75rem; border-radius: 8px; background: #ffebe9; }
`;

function errorPage(status: 403 | 404 | 410, title: string, appReturnUrl: string): EmulatorResponse {
  return {
    status,
    headers: PAGE_HEADERS,
    body: layout(title, `<h1>${escapeHtml(title)}</h1>
    <p>Go back to the app and open the link again.</p>
    ${returnLink(appReturnUrl)}`),
  };
}

function textPage(status: number, message: string): EmulatorResponse {
  return { status, headers: PAGE_HEADERS, body: layout("Request refused", `<h1>Request refused</h1><p>${escapeHtml(message)}</p>`) };
}

function methodNotAllowed(allow: string): EmulatorResponse {
  return { status: 405, headers: { ...PAGE_HEADERS, allow }, body: "Method Not Allowed" };
}

function redirect(location: string): EmulatorResponse {
  return { status: 303, headers: { location, "cache-control": "no-store", "referrer-policy": "no-referrer" }, body: "" };
}
