import { redirect } from "react-router";
import type { PaymentProvider } from "~/db/generated/client.ts";
import { isCrossSiteRequest } from "~/http/cross-site.ts";
import { recordSignedInUser, type RequestInfoHolder } from "~/http/request-info.ts";
import { preferredLanguages } from "~/http/languages.ts";
import { logEvent } from "~/observability/log.server.ts";
import { authorize } from "~/orgs/authorization.ts";
import type { Role } from "~/orgs/billing-owner.ts";
import { type BillingAction, type BillingFailure, describeFailure } from "./portal-failures.ts";
import type { PortalFlash } from "./portal-flash.server.ts";
import { readBodyUpTo } from "./request-body.server.ts";

/** Larger bodies are refused before they are read (SPEC: 413 over 64 KiB). */
const MAX_BODY_BYTES = 64 * 1024;

/** `code` (optional) says how a success differs from what was asked (a portal home instead of a deep link). */
export type BillingResult = { ok: true; url: string; code?: string } | { ok: false; failure: BillingFailure };

/** What the service is asked: who, what (the parsed body) and in which languages (Accept-Language, best first). */
type SignedInCustomer = { provider: PaymentProvider; providerCustomerId: string };

export type BillingRequest = {
  /** Who clicks. */
  userId: string | null;
  /** The billing owner acted for: the session's current organisation. */
  organizationId: string | null;
  /** The user's customers, when the session lookup already read them (the portal then reads none itself). */
  customers?: readonly SignedInCustomer[];
  input: unknown;
  languages: readonly string[];
};

/** Who is asking, as the session lookup reads it: the user, the current organisation, the role in it and its customers. */
export type SignedIn = { id: string; organizationId: string | null; role: Role | null; customers?: readonly SignedInCustomer[] };

export type BillingDoor = "form-or-json" | "json";

/** One billing door's handler: the request, which door it came through, and React Router's context when there is one. */
export type BillingEndpoint = ReturnType<typeof createBillingEndpoint>;

/**
 * The HTTP side of a billing action (the portal, the checkout), shared by its
 * doors: a page's form (`/billing/portal`, `/billing/checkout`, which also
 * speak JSON to clients that ask) and the JSON API (`/api/payments/…`). It
 * reads and guards the request, asks the service, and shapes its answer for a
 * browser (303 redirects, a one-time message) or for a JSON client (the
 * SPEC's bodies). Every rule (405, cross-site 403, 413, JSON negotiation, the
 * failure table) is written once, here and in portal-failures.ts.
 */
export function createBillingEndpoint(deps: {
  action: BillingAction;
  /** The service: the user (or null), their customers when the session lookup read them, and the parsed body in. */
  run: (request: BillingRequest) => Promise<BillingResult>;
  flash: PortalFlash;
  appOrigin: string;
  /** The signed-in user (with their customers when the session lookup read them), or null. */
  identify: (request: Request) => Promise<SignedIn | null>;
  /** The page a signed-out browser returns to after logging in (from the request's body, e.g. the chosen plan). */
  loginReturnPath: string | ((input: unknown) => string);
  /** The page where a failure's message is shown. */
  pageFor: (failure: BillingFailure) => string;
}) {
  const { action, run, flash, appOrigin, identify, pageFor } = deps;
  const loginPath = (input: unknown) =>
    `/login?redirectTo=${encodeURIComponent(typeof deps.loginReturnPath === "string" ? deps.loginReturnPath : deps.loginReturnPath(input))}`;

  /** `context`, when React Router's, learns the signed-in user for the access log. */
  return async function handleBillingRequest(request: Request, door: BillingDoor, context?: RequestInfoHolder): Promise<Response> {
    if (request.method !== "POST") {
      return json({ error: "Method Not Allowed" }, 405, { Allow: "POST" });
    }
    // Cross-site requests are refused before any work (a form on another site cannot open our portal).
    if (isCrossSiteRequest(request, appOrigin)) return json({ error: "Forbidden" }, 403);

    const wantsJson = door === "json" || isJsonRequest(request);
    try {
      const body = await readBody(request);
      if (body === "too-large") return json({ error: "Payload Too Large" }, 413);
      // The JSON door accepts JSON only: that also keeps plain cross-site forms out.
      const input = door === "json" && body.type !== "json" ? null : body.value;

      const languages = preferredLanguages(request.headers.get("Accept-Language"));
      const user = await identify(request);
      if (user && context) recordSignedInUser(context, user.id);
      // Only owners and admins manage billing (app/orgs/authorization.ts); nothing is read or asked for anyone else.
      const access = user?.organizationId ? authorize(user.role ? { role: user.role } : null, { kind: "manage-billing" }) : null;
      const result: BillingResult =
        access && !access.ok
          ? { ok: false, failure: { kind: "forbidden" } }
          : await run({ userId: user?.id ?? null, organizationId: user?.organizationId ?? null, customers: user?.customers, input, languages });
      return wantsJson ? answerJson(result) : answerForm(result, input);
    } catch (error) {
      // A browser gets React Router's error page, and entry.server's handleError logs it there.
      if (!wantsJson) throw error;
      logEvent("error", `billing.${action}.unexpected_error`, { errorName: errorName(error) });
      return json({ error: "Internal Server Error" }, 500);
    }
  };

  async function answerForm(result: BillingResult, input: unknown): Promise<Response> {
    if (result.ok) return redirect(result.url, 303);
    if (result.failure.kind === "unauthenticated") return redirect(loginPath(input), 303);
    const { message } = describeFailure(result.failure, action);
    return redirect(pageFor(result.failure), { status: 303, headers: { "Set-Cookie": await flash.set(message) } });
  }

  function answerJson(result: BillingResult): Response {
    if (result.ok) return json(result.code ? { url: result.url, code: result.code } : { url: result.url }, 200);
    const answer = describeFailure(result.failure, action);
    const headers: Record<string, string> = {};
    if (answer.retryAfterSeconds !== undefined) headers["Retry-After"] = String(answer.retryAfterSeconds);
    return json({ error: answer.error, code: answer.code }, answer.status, headers);
  }
}

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

/** SPEC: JSON is `Content-Type: application/json`, or an `Accept` that prefers it over HTML. */
export function isJsonRequest(request: Request): boolean {
  if (mediaType(request.headers.get("Content-Type")) === "application/json") return true;
  const accept = request.headers.get("Accept") ?? "";
  const ranked = accept
    .split(",")
    .map((part, index) => {
      const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
      const q = Number(params.find((p) => p.startsWith("q="))?.slice(2) ?? "1");
      return { type, q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((entry) => entry.q > 0)
    .toSorted((a, b) => b.q - a.q || a.index - b.index);
  const first = ranked.find((entry) => ["application/json", "text/html", "application/xhtml+xml"].includes(entry.type));
  return first?.type === "application/json";
}

type Body = { type: "json" | "form" | "other"; value: unknown };

/** The body as plain data, or null when it cannot be read as its Content-Type says. */
async function readBody(request: Request): Promise<Body | "too-large"> {
  const bytes = await readBodyUpTo(request, MAX_BODY_BYTES);
  if (bytes === "too-large") return "too-large";
  const text = new TextDecoder().decode(bytes);

  const type = mediaType(request.headers.get("Content-Type"));
  if (type === "application/json") {
    if (text.trim() === "") return { type: "json", value: {} };
    try {
      return { type: "json", value: JSON.parse(text) };
    } catch {
      return { type: "json", value: null };
    }
  }
  if (type === "application/x-www-form-urlencoded") {
    return { type: "form", value: Object.fromEntries(new URLSearchParams(text)) };
  }
  if (type === "multipart/form-data") {
    const form = await new Request("http://body.invalid", {
      method: "POST",
      headers: { "Content-Type": request.headers.get("Content-Type") ?? "" },
      body: text,
    })
      .formData()
      .catch(() => null);
    const fields = form ? [...form.entries()] : null;
    const onlyText = fields?.every(([, value]) => typeof value === "string");
    return { type: "form", value: fields && onlyText ? Object.fromEntries(fields) : null };
  }
  // No body at all is an empty form (a bare `<form method="post">` without fields).
  return { type: "other", value: text === "" ? {} : null };
}

function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
