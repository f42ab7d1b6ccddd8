import { LRUCache } from "lru-cache";
import type { PrismaClient } from "~/db/generated/client.ts";
import type { BillingActor } from "~/orgs/billing-owner.ts";
import { callProvider } from "./provider-call.server.ts";
import type { BillingProvider, ProviderInvoice } from "./providers/provider.ts";

/** A customer's list is asked again at most this often: reloading the account page costs no provider call. */
const INVOICES_FRESH_MS = 60_000;

/** The account page's invoice list (SPEC "Account page"): words and links only, formatted on the server. */
export type InvoicesView =
  | { kind: "none" }
  | { kind: "unavailable"; message: string }
  | { kind: "list"; invoices: { key: string; date: string; amount: string; status: string; url: string | null }[] };

const STATUS_WORDS = { paid: "Paid", open: "Due", void: "Void", uncollectible: "Unpaid", refunded: "Refunded" } as const;
const DATE = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" });

export type Invoices = ReturnType<typeof createInvoices>;

/**
 * The owner's recent invoices at the active provider, asked per page view through the provider-call policy
 * (the links may be signed, so nothing is stored). A provider failure is one short sentence, never its text.
 */
export function createInvoices(deps: { prisma: PrismaClient; provider: BillingProvider }) {
  const { prisma, provider } = deps;
  // Per instance, short-lived, and only the fields shown (the links are the provider's hosted pages).
  const recentlyAsked = new LRUCache<string, ProviderInvoice[]>({ max: 10_000, ttl: INVOICES_FRESH_MS });
  return {
    async recent({ userId, organizationId }: BillingActor): Promise<InvoicesView> {
      if (!provider.listInvoices) return { kind: "none" };
      const customer = await prisma.customer.findUnique({
        where: { organizationId_provider: { organizationId, provider: provider.id } },
        select: { providerCustomerId: true },
      });
      if (!customer) return { kind: "none" };
      const cached = recentlyAsked.get(customer.providerCustomerId);
      // Not counted against the user's provider calls: a page view is not a click, and must not use up the portal's.
      const call = cached
        ? ({ ok: true, value: cached } as const)
        : await callProvider({ action: "invoices", userId, free: true, call: () => provider.listInvoices!(customer.providerCustomerId) });
      if (call.ok && !cached) recentlyAsked.set(customer.providerCustomerId, call.value);
      if (!call.ok) return { kind: "unavailable", message: "Your invoices cannot be shown right now. Please try again later." };
      if (call.value.length === 0) return { kind: "none" };
      return {
        kind: "list",
        invoices: call.value.map((invoice, index) => ({
          key: `${invoice.date.toISOString()}-${index}`,
          date: DATE.format(invoice.date),
          amount: money(invoice.amount, invoice.currency),
          status: STATUS_WORDS[invoice.status],
          url: invoice.url,
        })),
      };
    },
  };
}

function money(minor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() });
    return format.format(minor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}
