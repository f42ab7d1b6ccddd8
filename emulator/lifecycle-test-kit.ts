import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { createCheckout, lemonSqueezySetup } from "@lemonsqueezy/lemonsqueezy.js";
import { createPolar, webhooks as polarWebhooks } from "@polar-sh/sdk/2026-10";
import { Stripe } from "stripe";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { routeLemonSqueezyApiTo } from "./lemonsqueezy-routing.ts";
import { EMULATED_PLANS, LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import type { ProviderEmulator } from "./provider-emulator.ts";
import type { WebhookSecrets } from "./webhook-signing.ts";

/** Test support for the lifecycle tests: the real SDKs against the emulator, and an app-side webhook receiver. */

export const [STARTER, PRO] = EMULATED_PLANS as [(typeof EMULATED_PLANS)[0], (typeof EMULATED_PLANS)[0]];
export const APP = "http://app.test";

export type ReceivedWebhook = { provider: string; headers: IncomingHttpHeaders; body: string };

/**
 * A tiny app endpoint: records every POST to `/webhooks/<provider>` and
 * answers with the next queued status (200 when none is queued); a status of
 * 0 means never answering (a hung app).
 */
export async function startReceiver() {
  const received: ReceivedWebhook[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ provider: (req.url ?? "").split("/").at(-1)!, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const status = statuses.shift() ?? 200;
      if (status === 0) return;
      res.writeHead(status, { "content-type": "text/plain" }).end(String(status));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    /** Answers the next requests with these statuses, in order. */
    answerWith: (...next: number[]) => statuses.push(...next),
    reset: () => {
      received.length = 0;
      statuses.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Checks a received webhook with the provider's own verifier and returns the parsed event; throws when it does not verify. */
export async function verify(webhook: ReceivedWebhook, secrets: WebhookSecrets): Promise<Record<string, any>> {
  if (webhook.provider === "stripe") {
    const signature = webhook.headers["stripe-signature"] as string;
    return (await Stripe.webhooks.constructEventAsync(webhook.body, signature, secrets.stripe)) as unknown as Record<string, any>;
  }
  if (webhook.provider === "polar") {
    return (await polarWebhooks.validateEvent(webhook.body, webhook.headers as Record<string, string>, secrets.polar)) as Record<string, any>;
  }
  // Lemon Squeezy documents the check: hex HMAC-SHA256 of the raw body, compared in constant time.
  const expected = Buffer.from(createHmac("sha256", secrets.lemonsqueezy).update(webhook.body).digest("hex"), "hex");
  const given = Buffer.from(String(webhook.headers["x-signature"] ?? ""), "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error("Lemon Squeezy signature mismatch");
  return JSON.parse(webhook.body);
}

/** The event's type as each provider names it. */
export function eventType(provider: string, event: Record<string, any>): string {
  return provider === "lemonsqueezy" ? event.meta.event_name : event.type;
}

export function stripeClient(emulator: ProviderEmulator): Stripe {
  const url = new URL(emulator.origin);
  return new Stripe("sk_test_lifecycle4242", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
}

export function polarClient(emulator: ProviderEmulator) {
  return createPolar({ accessToken: "polar_oat_lifecycle4242", baseUrl: emulator.origin });
}

/** Lemon Squeezy's SDK has a fixed base URL: route it to the emulator (undo with the returned function). */
export function lemonSqueezyClient(emulator: ProviderEmulator): () => void {
  lemonSqueezySetup({ apiKey: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsaWZlIn0.lifecycle4242" });
  return routeLemonSqueezyApiTo(emulator.origin);
}

/** Opens a checkout for `userId` through the provider's own SDK, as the app does; answers the hosted page URL. */
/**
 * Opens a checkout through the provider's SDK. Without `trialDays`, no trial (Polar `allow_trial: false`, Lemon
 * Squeezy `skipTrial`), as the app asks for an owner who had one; with it, a trial of that many days (Stripe and
 * Polar ask for it, Lemon Squeezy takes the variant's).
 */
export async function openCheckout(emulator: ProviderEmulator, provider: ProviderId, userId: string, plan = PRO, trialDays = 0): Promise<string> {
  const email = `${userId}@example.test`;
  if (provider === "stripe") {
    const session = await stripeClient(emulator).checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: plan.stripePriceId, quantity: 1 }],
      client_reference_id: userId,
      customer_email: email,
      metadata: { user_id: userId },
      subscription_data: { metadata: { user_id: userId }, ...(trialDays > 0 ? { trial_period_days: trialDays } : {}) },
      success_url: `${APP}/account?checkout=success&session={CHECKOUT_SESSION_ID}`,
      cancel_url: `${APP}/pricing`,
    });
    return session.url!;
  }
  if (provider === "polar") {
    const checkout = await polarClient(emulator).checkouts.create({
      products: [plan.polarProductId],
      external_customer_id: userId,
      customer_email: email,
      success_url: `${APP}/account?checkout=success`,
      metadata: { user_id: userId },
      ...(trialDays > 0 ? { trial_interval: "day" as const, trial_interval_count: trialDays } : { allow_trial: false }),
    });
    return checkout.url;
  }
  const { data, error } = await createCheckout(LEMON_SQUEEZY_STORE_ID, plan.lemonSqueezyVariantId, {
    checkoutData: { email, custom: { user_id: userId } },
    productOptions: { redirectUrl: `${APP}/account?checkout=success` },
    ...(trialDays > 0 ? {} : { checkoutOptions: { skipTrial: true } }),
  });
  if (error) throw error;
  return data!.data.attributes.url;
}

/** Presses "Pay" on the hosted page as a browser without JavaScript would. */
export async function pay(checkoutUrl: string): Promise<Response> {
  const page = await (await fetch(checkoutUrl)).text();
  const card = /name="card"[^>]*value="([^"]+)"/.exec(page)?.[1] ?? "";
  return fetch(checkoutUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ card }),
    redirect: "manual",
  });
}

/** Posts one of the portal page's forms, as a browser without JavaScript would. */
export function portalAction(portalUrl: string, fields: Record<string, string>): Promise<Response> {
  return fetch(portalUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}
