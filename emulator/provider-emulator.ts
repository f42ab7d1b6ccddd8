import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { DeepLinkPages } from "./deep-links.ts";
import { FailureQueue, parseFailureRequest, type FailureSpec } from "./failures.ts";
import { EmulatorLifecycle, type LifecycleOptions } from "./lifecycle.ts";
import { lemonSqueezyApi } from "./lemonsqueezy-api.ts";
import { handleStripeSubscriptionApi } from "./stripe-subscriptions.ts";
import { handleStripeInvoiceApi, stripeInvoicePage } from "./stripe-invoices.ts";
import { handleOrdersAndInvoicesApi, invoicePage } from "./orders-and-invoices.ts";
import { type Mailbox, startMailbox } from "./mailbox.ts";
import { handleLemonSqueezySubscriptionApi } from "./lemonsqueezy-subscriptions.ts";
import { polarApi } from "./polar-api.ts";
import { PortalPages } from "./portal-pages.ts";
import { stripeApi } from "./stripe-api.ts";
import { persistSubscriptions } from "./state-file.ts";
import { handleSubscriptionLists } from "./subscription-lists.ts";
import { lifecycleControl } from "./test-controls.ts";
import { firstHeader, jsonResponse, type EmulatorRequest, type EmulatorResponse, type ProviderApi } from "./wire.ts";

export type { FailureSpec } from "./failures.ts";
export { EMULATOR_ONLY_CUSTOMER_IDS } from "./customers.ts";

export type ProviderEmulatorOptions = {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Where Lemon Squeezy's portal page (which has no return URL in its API) and error pages link back to. */
  appReturnUrl: string;
  /** The emulator's clock for portal link expiry; tests move it forward. */
  now?: () => number;
  /** Webhook retry delays and how long checkout and portal pages wait for the app (emulator/lifecycle.ts). */
  webhooks?: LifecycleOptions;
  /** A JSON file that keeps the subscriptions across restarts (emulator/state-file.ts); in memory without it. */
  stateFile?: string;
};

/** A provider API call as it arrived. The Authorization value is never kept: only its scheme and a fingerprint. */
export type RecordedRequest = {
  provider: ProviderId;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  auth: { scheme: string; fingerprint: string } | null;
  /** Form fields (flat, `a[b]` keys), parsed JSON, the raw text when it does not parse, or null when empty. */
  body: unknown;
};

export type ProviderEmulator = {
  readonly origin: string;
  /** Checkouts, subscriptions, webhook delivery and their test controls. */
  readonly lifecycle: EmulatorLifecycle;
  /** The local mailbox: an SMTP catcher whose messages `GET /__emulator/mail` lists (SPEC "Email"). */
  readonly mailbox: Mailbox;
  /** Queues a failure for the provider's next call(s); without a spec, one 500. */
  failNext(provider: ProviderId, spec?: FailureSpec): void;
  requests(provider?: ProviderId): RecordedRequest[];
  /** Forgets queued failures, recorded requests and the webhook delivery log; issued links and subscriptions stay. */
  reset(): void;
  /**
   * Requests still waiting for their answer. One the client gave up on ends when its socket closes,
   * so a client that abandons a call without closing the connection shows here. (Idle keep-alive
   * connections, which clients may open ahead of need, are not requests and do not count.)
   */
  requestsInFlight(): number;
  close(): Promise<void>;
};

const APIS: Record<ProviderId, ProviderApi> = { stripe: stripeApi, polar: polarApi, lemonsqueezy: lemonSqueezyApi };
const MAX_BODY_BYTES = 1024 * 1024;
/** Oldest recorded requests are dropped beyond this, so a long demo session stays small. */
const MAX_RECORDED_REQUESTS = 1000;
const MALFORMED_BODY = "<html><body><h1>Service temporarily overloaded</h1></body></html>";

/** Identifies which key was sent without keeping it. */
export function credentialFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 12);
}

export async function startProviderEmulator(options: ProviderEmulatorOptions): Promise<ProviderEmulator> {
  const host = options.host ?? "127.0.0.1";
  const now = options.now ?? Date.now;
  const failures = new FailureQueue();
  let recorded: RecordedRequest[] = [];
  const closing = new AbortController();
  let portals: PortalPages;
  let lifecycle: EmulatorLifecycle;
  let deepLinks: DeepLinkPages;
  const mailbox = await startMailbox({ host });

  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    res.once("close", () => (inFlight -= 1));
    answer(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: "Emulator error" });
      else res.destroy();
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    if (rawBody === undefined) return send(res, jsonResponse(413, { error: "Request body too large" }));
    const request = toEmulatorRequest(req, rawBody);

    if (request.path.startsWith("/__emulator/")) {
      return send(res, mailbox.handle(request) ?? (await lifecycleControl(request, lifecycle)) ?? control(request));
    }
    if (request.path.startsWith("/invoices/stripe/")) return send(res, stripeInvoicePage(request));
    if (request.path.startsWith("/invoices/")) return send(res, invoicePage(request));
    if (request.path.startsWith("/checkout/")) return send(res, await lifecycle.handleCheckoutPage(request));
    if (request.path.startsWith("/portal/")) {
      const deepLinked = deepLinks.handle(request);
      if (deepLinked) return send(res, await deepLinked);
      if (request.method === "POST") return send(res, await lifecycle.handlePortalAction(request, portals.session(request)));
      if (request.method !== "GET") return send(res, { status: 405, headers: { allow: "GET, POST" }, body: "Method Not Allowed" });
      return send(res, portals.render(request));
    }
    const provider = PROVIDER_IDS.find((id) => APIS[id].claims(request));
    if (!provider) return send(res, jsonResponse(404, { error: "Not an emulated provider endpoint" }));

    record(provider, request);
    const api = APIS[provider];
    const failure = failures.take(provider);
    if (failure?.delayMs) {
      const gone = new AbortController();
      res.once("close", () => gone.abort());
      const waited = await sleep(failure.delayMs, true, { signal: AbortSignal.any([closing.signal, gone.signal]) }).catch(
        () => false,
      );
      if (!waited) return void res.destroy();
    }
    send(res, failure && isFailureAnswer(failure) ? failureResponse(api, failure) : providerAnswer(provider, request));
  }

  function providerAnswer(provider: ProviderId, request: EmulatorRequest): EmulatorResponse {
    const subscriptions = lifecycle.subscriptions;
    // The lifecycle's own calls (seat updates, checkouts) first: the read handlers below match paths, not methods.
    const lifecycleAnswer = lifecycle.handleApi(provider, request);
    if (lifecycleAnswer) return lifecycleAnswer;
    const subscriptionApi =
      provider === "lemonsqueezy"
        ? handleLemonSqueezySubscriptionApi(request, subscriptions, deepLinks, portals)
        : provider === "stripe"
          ? (handleStripeSubscriptionApi(request, subscriptions) ?? handleStripeInvoiceApi(request, subscriptions))
          : undefined;
    const listed =
      subscriptionApi ??
      handleSubscriptionLists(provider, request, subscriptions, lifecycle.eventContext()) ??
      handleOrdersAndInvoicesApi(provider, request, subscriptions, lifecycle.eventContext(), origin);
    return listed ?? APIS[provider].handle(request, portals, { subscriptions });
  }

  function control(request: EmulatorRequest): EmulatorResponse {
    const route = `${request.method} ${request.path}`;
    if (route === "POST /__emulator/failures") {
      try {
        const { provider, spec } = parseFailureRequest(JSON.parse(request.rawBody || "null"));
        failures.add(provider, spec);
        return jsonResponse(201, { provider, ...spec });
      } catch (error) {
        return jsonResponse(400, { error: error instanceof Error ? error.message : "Invalid failure" });
      }
    }
    if (route === "GET /__emulator/requests") {
      const provider = request.query.get("provider");
      if (provider !== null && !PROVIDER_IDS.includes(provider as ProviderId)) {
        return jsonResponse(400, { error: `"provider" must be one of ${PROVIDER_IDS.join(", ")}` });
      }
      return jsonResponse(200, requests((provider as ProviderId | null) ?? undefined));
    }
    if (route === "POST /__emulator/reset") {
      reset();
      return { status: 204, body: "" };
    }
    return jsonResponse(404, { error: "Unknown emulator control endpoint" });
  }

  function record(provider: ProviderId, request: EmulatorRequest): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const authorization = firstHeader(request.headers, "authorization");
    const scheme = authorization?.split(" ")[0] ?? "";
    if (authorization !== undefined) headers.authorization = `${scheme} [redacted]`;
    recorded.push({
      provider,
      method: request.method,
      path: request.path,
      query: Object.fromEntries(request.query),
      headers,
      auth: request.bearerToken === null ? null : { scheme, fingerprint: credentialFingerprint(request.bearerToken) },
      body: parseBody(request),
    });
    if (recorded.length > MAX_RECORDED_REQUESTS) recorded.shift();
  }

  function requests(provider?: ProviderId): RecordedRequest[] {
    return structuredClone(recorded.filter((entry) => provider === undefined || entry.provider === provider));
  }

  function reset(): void {
    failures.clear();
    recorded = [];
    lifecycle.delivery.clearLog();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  lifecycle = new EmulatorLifecycle(origin, options.appReturnUrl, now, options.webhooks);
  portals = new PortalPages(origin, options.appReturnUrl, now, (session, request) => lifecycle.portalPanel(session, request));
  lifecycle.attachPortals(portals);
  deepLinks = new DeepLinkPages(origin, options.appReturnUrl, now, portals, lifecycle);
  lifecycle.attachLemonSqueezySubscriptionUrls((subscription) => deepLinks.lemonSqueezySubscriptionUrls(subscription));
  const persisted = options.stateFile ? persistSubscriptions(lifecycle.subscriptions, options.stateFile) : undefined;

  return {
    origin,
    lifecycle,
    mailbox,
    failNext: (provider, spec = { status: 500 }) => failures.add(provider, spec),
    requests,
    reset,
    requestsInFlight: () => inFlight,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        persisted?.flush();
        lifecycle.close();
        void mailbox.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function toEmulatorRequest(req: IncomingMessage, rawBody: string): EmulatorRequest {
  const url = new URL(req.url ?? "/", "http://emulator.invalid");
  const bearer = /^Bearer (.+)$/.exec(firstHeader(req.headers, "authorization") ?? "");
  return {
    method: req.method ?? "GET",
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    bearerToken: bearer?.[1] ?? null,
    rawBody,
  };
}

function parseBody(request: EmulatorRequest): unknown {
  if (request.rawBody === "") return null;
  const contentType = firstHeader(request.headers, "content-type") ?? "";
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(request.rawBody));
  }
  try {
    return JSON.parse(request.rawBody);
  } catch {
    return request.rawBody;
  }
}

function isFailureAnswer(spec: FailureSpec): boolean {
  return spec.status !== undefined || spec.malformed === true || spec.retryAfterSeconds !== undefined || spec.body !== undefined;
}

function failureResponse(api: ProviderApi, spec: FailureSpec): EmulatorResponse {
  if (spec.malformed) {
    return { status: spec.status ?? 200, headers: { "content-type": "text/html; charset=utf-8" }, body: MALFORMED_BODY };
  }
  const status = spec.status ?? (spec.retryAfterSeconds === undefined ? 500 : 429);
  const base = api.errorResponse(status);
  const retryAfter: Record<string, string> =
    spec.retryAfterSeconds === undefined ? {} : { "retry-after": String(spec.retryAfterSeconds) };
  return { status, headers: { ...base.headers, ...retryAfter }, body: spec.body ?? base.body };
}

function send(res: ServerResponse, response: EmulatorResponse): void {
  const body = typeof response.body === "string" ? response.body : JSON.stringify(response.body);
  res.writeHead(response.status, { "content-length": Buffer.byteLength(body), ...response.headers });
  res.end(body);
}
