import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { LRUCache } from "lru-cache";
import { PROVIDER_NAMES, type ProviderId } from "~/billing/providers/provider.ts";
import { findCustomer, type EmulatedCustomer } from "./customers.ts";
import { STRIPE_PORTAL_LOCALES, type PortalSessionOptions, type StripePortalFlow } from "./stripe-portal-flows.ts";
import { firstHeader, isHttpUrl, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

/** How long each provider's portal link stays valid (Stripe: short-lived session, Polar: customer session, LS: signed 24 h). */
const PORTAL_TTL_MS: Record<ProviderId, number> = {
  stripe: 5 * 60_000,
  polar: 60 * 60_000,
  lemonsqueezy: 24 * 60 * 60_000,
};

/** The Polar organization the emulated customers belong to. */
export const POLAR_ORGANIZATION = { id: "8c1f7e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", slug: "emulated-org" } as const;

/** Sessions beyond this are dropped least recently used first, so a long-running demo cannot grow without bound. */
export const MAX_SESSIONS = 10_000;

export type PortalSession = {
  provider: ProviderId;
  customer: EmulatedCustomer;
  returnUrl: string | null;
  expiresAt: number;
  /** Stripe only: the deep link (`flow_data`) and `locale` the session was created with (emulator/deep-links.ts). */
  flow?: StripePortalFlow | null;
  locale?: string | null;
};

export type IssuedPortal = { url: string; token: string; expiresAt: number };

/**
 * The hosted portal pages on the emulator's own origin: hands out links
 * (random tokens for Stripe and Polar, a signed URL for Lemon Squeezy) and
 * renders the page each link opens.
 */
export class PortalPages {
  /** Constant time per call: expired sessions are not swept, they answer 410 until the size bound pushes them out. */
  readonly #sessions = new LRUCache<string, PortalSession>({ max: MAX_SESSIONS });
  /** Signs Lemon Squeezy links; new on every start, like a real signing key nobody else knows. */
  readonly #signingKey = randomBytes(32);

  constructor(
    private readonly origin: string,
    private readonly appReturnUrl: string,
    private readonly now: () => number,
    /** Renders the customer's subscription and its action forms (emulator/portal-actions.ts). */
    private readonly subscriptionPanel?: (session: PortalSession, request: EmulatorRequest) => string,
  ) {}

  /** The live session a portal URL names, "expired", or undefined: for the page's POST actions. */
  session(request: EmulatorRequest): PortalSession | "expired" | undefined {
    return this.#find(request);
  }

  openStripeSession(customer: EmulatedCustomer, returnUrl: string | null, options?: PortalSessionOptions): IssuedPortal {
    const token = `test_${randomToken()}`;
    const expiresAt = this.#store(token, { provider: "stripe", customer, returnUrl, ...options });
    // A deep link lands on its flow's page (emulator/deep-links.ts), the portal home stays at the session URL.
    const flowPath = options?.flow ? "/flow" : "";
    return { url: `${this.origin}/portal/stripe/p/session/${token}${flowPath}`, token, expiresAt };
  }

  openPolarSession(customer: EmulatedCustomer, returnUrl: string | null): IssuedPortal {
    const token = `polar_cst_${randomToken()}`;
    const expiresAt = this.#store(token, { provider: "polar", customer, returnUrl });
    const url = `${this.origin}/portal/polar/${POLAR_ORGANIZATION.slug}/portal?customer_session_token=${token}`;
    return { url, token, expiresAt };
  }

  signLemonSqueezyUrl(customer: EmulatedCustomer): IssuedPortal {
    const expires = Math.floor((this.now() + PORTAL_TTL_MS.lemonsqueezy) / 1000);
    const signature = this.#sign(customer.id, expires);
    const url = `${this.origin}/portal/lemonsqueezy/billing/${customer.id}?expires=${expires}&signature=${signature}`;
    return { url, token: signature, expiresAt: expires * 1000 };
  }

  /** Answers `GET /portal/...`. */
  render(request: EmulatorRequest): EmulatorResponse {
    const found = this.#find(request);
    if (found === "expired") return errorPage(410, "This portal link has expired", this.appReturnUrl);
    if (!found) return errorPage(404, "This portal link is not valid", this.appReturnUrl);
    const panel = this.subscriptionPanel?.(found, request) ?? "";
    const language = found.provider === "stripe" ? portalLanguage(found.locale ?? null, request) : undefined;
    return portalPage(found.provider, found.customer, found.returnUrl ?? this.appReturnUrl, panel, language);
  }

  #store(token: string, session: Omit<PortalSession, "expiresAt">): number {
    const expiresAt = this.now() + PORTAL_TTL_MS[session.provider];
    this.#sessions.set(token, { ...session, expiresAt });
    return expiresAt;
  }

  #find(request: EmulatorRequest): PortalSession | "expired" | undefined {
    const [, , provider, ...rest] = request.path.split("/");
    if (provider === "stripe" && rest.length === 3 && rest[0] === "p" && rest[1] === "session") {
      return this.#live("stripe", rest[2]!);
    }
    if (provider === "polar" && rest.length === 2 && rest[0] === POLAR_ORGANIZATION.slug && rest[1] === "portal") {
      return this.#live("polar", request.query.get("customer_session_token") ?? "");
    }
    if (provider === "lemonsqueezy" && rest.length === 2 && rest[0] === "billing") {
      return this.#verifySignedUrl(rest[1]!, request.query);
    }
    return undefined;
  }

  #live(provider: ProviderId, token: string): PortalSession | "expired" | undefined {
    const session = this.#sessions.get(token);
    if (!session || session.provider !== provider) return undefined;
    return session.expiresAt <= this.now() ? "expired" : session;
  }

  #verifySignedUrl(customerId: string, query: URLSearchParams): PortalSession | "expired" | undefined {
    const expires = Number(query.get("expires"));
    const signature = Buffer.from(query.get("signature") ?? "", "hex");
    const expected = Buffer.from(this.#sign(customerId, expires), "hex");
    if (!Number.isInteger(expires) || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      return undefined;
    }
    const customer = findCustomer("lemonsqueezy", customerId);
    if (!customer) return undefined;
    if (expires * 1000 <= this.now()) return "expired";
    return { provider: "lemonsqueezy", customer, returnUrl: null, expiresAt: expires * 1000 };
  }

  #sign(customerId: string, expires: number): string {
    return createHmac("sha256", this.#signingKey).update(`${customerId}:${expires}`).digest("hex");
  }
}

function randomToken(): string {
  return randomBytes(24).toString("base64url");
}

export const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'",
  // The URL carries the session token: never hand it to the app in a Referer header.
  "referrer-policy": "no-referrer",
};

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1f2328; }
  main { max-width: 32rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 3px #0002; }
  .badge { display: inline-block; margin: 0; padding: .1rem .6rem; border-radius: 999px; background: #fff3cd; font-size: .85rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; }
  dt { color: #59636e; } dd { margin: 0; }
  a { display: inline-block; margin-top: 1rem; padding: .6rem 1rem; border-radius: 8px; background: #1f2328; color: #fff; text-decoration: none; }
`;

function portalPage(
  provider: ProviderId,
  customer: EmulatedCustomer,
  returnUrl: string,
  panel: string,
  language?: PortalLanguage,
): EmulatorResponse {
  const name = PROVIDER_NAMES[provider];
  return {
    status: 200,
    headers: PAGE_HEADERS,
    body: layout(
      `${name} customer portal (emulated)`,
      `<p class="badge">Emulated ${escapeHtml(name)}</p>
    <h1>${escapeHtml(name)} customer portal</h1>
    <dl>
      <dt>Name</dt><dd>${escapeHtml(customer.name)}</dd>
      <dt>Email</dt><dd>${escapeHtml(customer.email)}</dd>
      <dt>Customer id</dt><dd><code>${escapeHtml(customer.id)}</code></dd>
    </dl>
    ${language ? languageLine(language) : ""}
    ${panel}
    <p>This page stands in for ${escapeHtml(name)}'s hosted billing portal. Nothing here is real billing data.</p>
    ${returnLink(returnUrl)}`,
      language?.lang,
    ),
  };
}

function errorPage(status: 404 | 410, title: string, appReturnUrl: string): EmulatorResponse {
  return {
    status,
    headers: PAGE_HEADERS,
    body: layout(
      title,
      `<h1>${escapeHtml(title)}</h1>
    <p>Go back to the app and open the billing portal again.</p>
    ${returnLink(appReturnUrl)}`,
    ),
  };
}

/** Only http(s) targets become links, so a hostile return URL cannot run script on this origin. */
export function returnLink(url: string): string {
  return isHttpUrl(url) ? `<a href="${escapeHtml(url)}">Return to the app</a>` : "";
}

/** The language a Stripe portal page is shown in: the session's `locale` as given, and the page's `lang`. */
export type PortalLanguage = { locale: string | null; lang: string };

/**
 * Stripe shows `auto` (and a session without a locale) in the browser's
 * language, so `lang` follows Accept-Language then; the visible line keeps
 * what the app sent, for tests to check.
 */
export function portalLanguage(locale: string | null, request: EmulatorRequest): PortalLanguage {
  if (locale !== null && locale !== "auto") return { locale, lang: locale };
  const accepted = (firstHeader(request.headers, "accept-language") ?? "").split(",").map((part) => part.split(";")[0]!.trim());
  const supported = new Set<string>(STRIPE_PORTAL_LOCALES);
  const lang = accepted.map((tag) => (supported.has(tag) ? tag : tag.split("-")[0]!)).find((tag) => supported.has(tag) && tag !== "auto");
  return { locale, lang: lang ?? "en" };
}

export function languageLine({ locale }: PortalLanguage): string {
  return `<p class="language">Language: ${escapeHtml(locale ?? "not set")}</p>`;
}

export function layout(title: string, content: string, lang = "en"): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(title)}</title>
    <style>${STYLE}</style>
  </head>
  <body>
    <main>
    ${content}
    </main>
  </body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
