import { listSubscriptions } from "@lemonsqueezy/lemonsqueezy.js";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { addCustomer } from "./customers.ts";
import { lemonSqueezyClient, polarClient, stripeClient } from "./lifecycle-test-kit.ts";
import { findPlan, LEMON_SQUEEZY_STORE_ID } from "./plans.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import { MONTH_MS } from "./subscriptions.ts";

// The providers' list and retrieve calls for subscriptions, in their shapes and with their pagination, as each
// provider's own SDK reads them (PROVIDERS.md §5.1-5.2); the silent change and the summary's fields.

let emulator: ProviderEmulator;
let undo: () => void;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: "http://app.test/account" });
  undo = lemonSqueezyClient(emulator);
});
afterAll(async () => {
  undo();
  await emulator.close();
});

function customerWith(provider: ProviderId, id: string, count: number) {
  const customer = { provider, id, name: "Lister", email: `lister-${provider}@example.test`, portal: "ready" as const };
  addCustomer(customer);
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    emulator.lifecycle.subscriptions.add({
      provider,
      id: provider === "stripe" ? `sub_List${i}` : provider === "polar" ? `1e4c7a52-0000-4000-8000-${String(i).padStart(12, "0")}` : String(2_000_000 + i),
      customer,
      metadata: {},
      plan: findPlan("pro")!,
      status: "active",
      cancelAtPeriodEnd: false,
      createdAt: now - i * 1000,
      currentPeriodStart: now,
      currentPeriodEnd: now + MONTH_MS,
      canceledAt: null,
      updatedAt: now,
      card: { brand: "visa", lastFour: "4242" },
      checkoutId: null,
      orderId: null,
      itemId: provider === "lemonsqueezy" ? String(2_500_000 + i) : `si_List${i}`,
      quantity: 1,
    });
  }
  return customer;
}

test("Stripe: a list object with has_more and starting_after, walked by the SDK's auto-pagination; retrieve and its 404", async () => {
  customerWith("stripe", "cus_Lister", 150);
  const stripe = stripeClient(emulator);
  const first = await stripe.subscriptions.list({ customer: "cus_Lister", status: "all", limit: 100 });
  expect([first.object, first.data.length, first.has_more]).toEqual(["list", 100, true]);
  const ids: string[] = [];
  for await (const subscription of stripe.subscriptions.list({ customer: "cus_Lister", status: "all", limit: 100 })) ids.push(subscription.id);
  expect(ids).toHaveLength(150);
  expect(new Set(ids).size).toBe(150);
  expect(ids[0]).toBe("sub_List0"); // newest first
  expect((await stripe.subscriptions.retrieve("sub_List7")).customer).toBe("cus_Lister");
  await expect(stripe.subscriptions.retrieve("sub_Nope")).rejects.toMatchObject({ type: "StripeInvalidRequestError", code: "resource_missing" });
});

test("Polar: items and pagination by page number, walked by the SDK's iterator; get", async () => {
  const customer = customerWith("polar", "1e4c7a52-0000-4000-8000-00000000ffff", 150);
  const polar = polarClient(emulator);
  const page = await polar.subscriptions.list({ customer_id: customer.id, limit: 100 });
  expect([page.items.length, page.pagination]).toEqual([100, { total_count: 150, max_page: 2 }]);
  const ids: string[] = [];
  for await (const subscription of polar.subscriptions.iterList({ customer_id: customer.id, limit: 100 })) ids.push(subscription.id);
  expect(new Set(ids).size).toBe(150);
  expect((await polar.subscriptions.get(ids[3]!)).customer_id).toBe(customer.id);
});

test("Lemon Squeezy: JSON:API with meta.page and links, no next on the last page", async () => {
  customerWith("lemonsqueezy", "2999999", 150);
  const filter = { storeId: LEMON_SQUEEZY_STORE_ID, userEmail: "lister-lemonsqueezy@example.test" };
  const first = await listSubscriptions({ filter, page: { number: 1, size: 100 } });
  expect(first.error).toBeNull();
  expect(first.data?.meta.page).toEqual({ currentPage: 1, from: 1, lastPage: 2, perPage: 100, to: 100, total: 150 });
  expect(first.data?.links).toHaveProperty("next");
  const last = await listSubscriptions({ filter, page: { number: 2, size: 100 } });
  expect(last.data?.data).toHaveLength(50);
  expect(last.data?.links).not.toHaveProperty("next");
  expect(last.data?.data[0]?.attributes.customer_id).toBe(2999999);
});

test("a silent action changes the subscription without any webhook; the summary lists quantity", async () => {
  const control = (path: string, body: object) =>
    fetch(`${emulator.origin}/__emulator/subscriptions/stripe/sub_List1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  expect((await control("actions", { action: "cancel", silent: "yes" })).status).toBe(400);
  expect(await (await control("actions", { action: "cancel", silent: true })).json()).toEqual({ outcome: "changed" });
  expect(emulator.lifecycle.delivery.list({ subscriptionId: "sub_List1" })).toEqual([]);
  const summaries = (await (await fetch(`${emulator.origin}/__emulator/subscriptions?provider=stripe`)).json()) as Record<string, unknown>[];
  expect(summaries.find((summary) => summary.id === "sub_List1")).toMatchObject({
    id: "sub_List1",
    customerId: "cus_Lister",
    status: "active",
    plan: "pro",
    quantity: 1,
    cancelAtPeriodEnd: true,
  });
});
