import { firstHeader, jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";
import { escapeHtml, PAGE_HEADERS } from "./portal-pages.ts";
import { authenticate, responseHeaders } from "./stripe-api.ts";
import type { SubscriptionStore } from "./subscriptions.ts";
import { stripeInvoice } from "./webhook-events.ts";

/**
 * Stripe's `GET /v1/invoices?customer=…` (`invoices.list`): one finalized invoice per subscription of the customer
 * for its current period, newest first, in Stripe's shape, with a `hosted_invoice_url` the emulator serves.
 */
export function handleStripeInvoiceApi(request: EmulatorRequest, subscriptions: SubscriptionStore): EmulatorResponse | undefined {
  if (request.method !== "GET" || request.path !== "/v1/invoices") return undefined;
  const refusal = authenticate(request.bearerToken);
  if (refusal) return refusal;
  const customer = request.query.get("customer");
  const origin = `http://${firstHeader(request.headers, "host") ?? "127.0.0.1"}`;
  const data = subscriptions
    .list("stripe")
    .filter((subscription) => customer === null || subscription.customer.id === customer)
    .toSorted((a, b) => b.currentPeriodStart - a.currentPeriodStart)
    .slice(0, Number(request.query.get("limit") ?? 10))
    .map((subscription) => {
      const invoice = stripeInvoice(subscription, subscription.status === "past_due" ? "open" : "paid", "subscription_cycle");
      return { ...invoice, created: invoice.period_start, hosted_invoice_url: `${origin}/invoices/stripe/${invoice.id}`, invoice_pdf: null };
    });
  return jsonResponse(200, { object: "list", data, has_more: false, url: "/v1/invoices" }, responseHeaders(request));
}

/** `GET /invoices/stripe/<id>`: the hosted invoice page a link from the account page opens. */
export function stripeInvoicePage(request: EmulatorRequest): EmulatorResponse {
  const id = /^\/invoices\/stripe\/(in_\w+)$/.exec(request.path)?.[1];
  if (!id) return { status: 404, headers: PAGE_HEADERS, body: "No such invoice." };
  return { status: 200, headers: PAGE_HEADERS, body: `<!doctype html><title>Invoice</title><h1>Invoice ${escapeHtml(id)}</h1><p>Emulated Stripe</p>` };
}
