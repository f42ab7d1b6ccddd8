import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createBillingCheckout } from "~/billing/checkout.server.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { pay } from "../emulator/lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { createTestDatabase } from "./database.ts";

// Issue 16, items 5 and 9 (SPEC "Plans and checkout", confirmation without waiting; "Account page", invoices), for
// each provider: the success URL names the checkout (Stripe `session_id`, Polar `checkout_id`, Lemon Squeezy
// `order_id`); back on /account the app retrieves it through the real SDK from the emulator and applies its
// subscription at once, while webhook delivery fails (the app's address does not resolve). Then the owner's
// invoices or receipts, with the provider's link.

const APP = "http://app.test";

let emulator: ProviderEmulator;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account` });
}, 60_000);
afterAll(() => emulator.close());

/** What differs between the providers' references: a well-formed one that names nothing, and each one's own shape. */
const REFERENCES: Record<ProviderId, { shape: RegExp; unknown: string }> = {
  stripe: { shape: /^cs_test_/, unknown: "cs_test_doesNotExist000" },
  polar: { shape: /^[0-9a-f-]{36}$/, unknown: "00000000-0000-4000-8000-000000000000" },
  lemonsqueezy: { shape: /^\d+$/, unknown: "999999999" },
};

describe.each(["stripe", "polar", "lemonsqueezy"] as const)("%s checkout confirmed on return", (providerId) => {
  let services: Services;
  beforeAll(async () => {
    services = await startServices(
      // No demo users: their password hashing is not what is tested here.
      { ...parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: providerId, PAYMENT_EMULATOR: "1", PAYMENT_EMULATOR_URL: emulator.origin }), seedDemoData: false },
      { database: await createTestDatabase() },
    );
  }, 60_000);
  afterAll(() => services?.stop());

  const prisma = () => services.database.prisma;
  let n = 0;
  /** A new user acting for their personal organisation. */
  const newUser = async () => {
    const user = await prisma().user.create({ data: { email: `confirm-${providerId}-${++n}@example.test` } });
    return { userId: user.id, organizationId: personalOrganizationId(user.id), email: user.email };
  };

  /** Opens a checkout as the app does, pays it on the hosted page, and answers the reference the return URL names. */
  async function paidCheckout(user: { userId: string; organizationId: string }): Promise<string> {
    const provider = createBillingProvider({ ...services.config.billing, emulatorOrigin: emulator.origin });
    const checkout = createBillingCheckout({ prisma: prisma(), provider, appOrigin: APP });
    // Starter: no trial (Pro's first checkout starts one, tests/trials.test.ts), so paying makes it active.
    const started = await checkout.start({ userId: user.userId, organizationId: user.organizationId, input: { plan: "starter" } });
    if (!started.ok) throw new Error("checkout did not start");
    const paid = await pay(started.url);
    const back = new URL(paid.headers.get("location")!);
    expect(`${back.origin}${back.pathname}`).toBe(`${APP}/account`);
    expect(back.searchParams.get("checkout")).toBe("success");
    return back.searchParams.get(services.checkoutConfirmation.referenceParam!)!;
  }

  const liveOf = (organizationId: string) => prisma().subscription.findMany({ where: { organizationId }, select: { status: true, plan: true } });
  const calls = () => emulator.requests(providerId).length;

  test("the success URL names the checkout, and retrieving it applies the subscription before any webhook", async () => {
    const user = await newUser();
    const reference = await paidCheckout(user);
    expect(reference).toMatch(REFERENCES[providerId].shape);
    expect(await liveOf(user.organizationId)).toEqual([]);

    const back = new URLSearchParams({ checkout: "success", [services.checkoutConfirmation.referenceParam!]: reference });
    expect(await services.checkoutConfirmation.confirmReturn(user, back)).toBe("applied");

    expect(await liveOf(user.organizationId)).toEqual([{ status: "active", plan: "starter" }]);
    expect(await prisma().customer.count({ where: { organizationId: user.organizationId, provider: providerId } })).toBe(1);
    const lines = await prisma().billingActivity.findMany({ where: { organizationId: user.organizationId, action: "subscription_change" } });
    expect(lines.map((line) => line.outcome)).toEqual(["started"]);

    // Again (a reload): the same state, no second line; through the page's door, no provider call at all.
    expect(await services.checkoutConfirmation.confirm(user, reference)).toBe("applied");
    expect(await prisma().billingActivity.count({ where: { organizationId: user.organizationId, action: "subscription_change" } })).toBe(1);
    const before = calls();
    expect(await services.checkoutConfirmation.confirmReturn(user, back)).toBe("none");
    expect(calls()).toBe(before);
  });

  test("another user's checkout changes nothing", async () => {
    const owner = await newUser();
    const reference = await paidCheckout(owner);
    const other = await newUser();

    expect(await services.checkoutConfirmation.confirm(other, reference)).toBe("not-yours");

    expect(await liveOf(other.organizationId)).toEqual([]);
    expect(await liveOf(owner.organizationId)).toEqual([]);
    expect(await prisma().customer.count({ where: { organizationId: { in: [owner.organizationId, other.organizationId] } } })).toBe(0);
  });

  test("a forged or unknown reference changes nothing and reaches no provider when it is not the provider's id", async () => {
    const user = await newUser();
    expect(await services.checkoutConfirmation.confirm(user, REFERENCES[providerId].unknown)).toBe("unknown");
    const before = calls();
    for (const forged of ["../v1/customers", "[order_id]", "{CHECKOUT_ID}", ""]) {
      expect(await services.checkoutConfirmation.confirm(user, forged)).toBe("unknown");
    }
    expect(calls()).toBe(before);
    expect(await liveOf(user.organizationId)).toEqual([]);
  });

  test("a provider that cannot be reached leaves it being confirmed", async () => {
    const user = await newUser();
    const reference = await paidCheckout(user);
    emulator.failNext(providerId, { status: 500, times: 2 });

    expect(await services.checkoutConfirmation.confirm(user, reference)).toBe("unreachable");
    expect(await liveOf(user.organizationId)).toEqual([]);
  });

  // Issue 16, item 9: the owner's recent invoices or receipts, with the provider's link.
  test("the account page's invoices: date, amount, status and the provider's link; a failure is one short sentence", async () => {
    const user = await newUser();
    expect(await services.invoices.recent(user)).toEqual({ kind: "none" });
    await services.checkoutConfirmation.confirm(user, await paidCheckout(user));

    const view = await services.invoices.recent(user);
    expect(view).toMatchObject({ kind: "list", invoices: [{ amount: "$9.00", status: "Paid", date: expect.stringMatching(/^[A-Z][a-z]+ \d{1,2}, \d{4}$/) }] });
    const url = view.kind === "list" ? view.invoices[0]!.url! : "";
    expect(url.startsWith(`${emulator.origin}/invoices/${providerId}/`)).toBe(true);
    expect((await fetch(url)).status).toBe(200);

    // Asked again within a minute: from the instance's short cache, no provider call.
    const before = calls();
    expect(await services.invoices.recent(user)).toEqual(view);
    expect(calls()).toBe(before);

    const other = await newUser();
    await services.checkoutConfirmation.confirm(other, await paidCheckout(other));
    emulator.failNext(providerId, { status: 500, times: 2, body: { error: { message: "Something broke" } } });
    const failed = await services.invoices.recent(other);
    expect(failed).toEqual({ kind: "unavailable", message: "Your invoices cannot be shown right now. Please try again later." });
  });

  // Issue 16, item 7: "Choose Pro" in one tab, "Choose Starter" in another. Only Stripe can expire a checkout.
  test.runIf(providerId === "stripe")("a new checkout expires the user's earlier one still open: only the newer can be paid", async () => {
    const user = await newUser();
    const provider = createBillingProvider({ ...services.config.billing, emulatorOrigin: emulator.origin });
    const checkout = createBillingCheckout({ prisma: prisma(), provider, appOrigin: APP });
    const first = await checkout.start({ userId: user.userId, organizationId: user.organizationId, input: { plan: "pro" } });
    const other = await newUser();
    const othersOpen = await checkout.start({ userId: other.userId, organizationId: other.organizationId, input: { plan: "pro" } });
    const second = await checkout.start({ userId: user.userId, organizationId: user.organizationId, input: { plan: "starter" } });
    if (!first.ok || !second.ok || !othersOpen.ok) throw new Error("checkout did not start");

    expect((await pay(first.url)).status).toBe(410);
    expect((await pay(othersOpen.url)).status).toBe(303);
    const paid = await pay(second.url);
    expect(paid.status).toBe(303);
    const sessionId = new URL(paid.headers.get("location")!).searchParams.get("session_id")!;
    expect(await services.checkoutConfirmation.confirm(user, sessionId)).toBe("applied");
    expect(await liveOf(user.organizationId)).toEqual([{ status: "active", plan: "starter" }]);
  });
});
