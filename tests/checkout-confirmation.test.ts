import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createBillingCheckout } from "~/billing/checkout.server.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { pay } from "../emulator/lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import { createTestDatabase } from "./database.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// Issue 16, item 5 (SPEC "Plans and checkout", confirmation without waiting), Stripe: the success URL names the
// checkout session; back on /account the app retrieves it through the real SDK from the emulator and applies its
// subscription at once, while webhook delivery fails (the app's address does not resolve).

const APP = "http://app.test";

let emulator: ProviderEmulator;
let services: Services;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account` });
  services = await startServices(
    // No demo users: their password hashing is not what is tested here.
    { ...parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: "stripe", PAYMENT_EMULATOR: "1", PAYMENT_EMULATOR_URL: emulator.origin }), seedDemoData: false },
    { database: await createTestDatabase() },
  );
}, 60_000);
afterAll(async () => {
  await services.stop();
  await emulator.close();
});

const prisma = () => services.database.prisma;
let n = 0;
/** A user acting for their personal organisation. */
const actor = (userId: string) => ({ userId, organizationId: personalOrganizationId(userId) });
const newUser = async () => (await prisma().user.create({ data: { email: `confirm-${++n}@example.test` } })).id;

/** Opens a checkout as the app does, pays it on the hosted page, and answers the session id the return URL names. */
async function paidCheckout(userId: string): Promise<string> {
  const provider = createBillingProvider({ ...services.config.billing, emulatorOrigin: emulator.origin });
  const checkout = createBillingCheckout({ prisma: prisma(), provider, appOrigin: APP });
  // Starter: no trial (Pro's first checkout starts one, tests/trials.test.ts), so paying makes it active.
  const started = await checkout.start({ ...actor(userId), input: { plan: "starter" } });
  if (!started.ok) throw new Error("checkout did not start");
  const paid = await pay(started.url);
  const back = new URL(paid.headers.get("location")!);
  expect(`${back.origin}${back.pathname}`).toBe(`${APP}/account`);
  expect(back.searchParams.get("checkout")).toBe("success");
  return back.searchParams.get(services.checkoutConfirmation.referenceParam!)!;
}

const liveOf = (userId: string) => prisma().subscription.findMany({ where: { organizationId: personalOrganizationId(userId) }, select: { status: true, plan: true, quantity: true } });

describe("Stripe checkout confirmed on return", () => {
  test("the success URL names the session, and retrieving it applies the subscription before any webhook", async () => {
    const userId = await newUser();
    const sessionId = await paidCheckout(userId);
    expect(sessionId).toMatch(/^cs_test_/);
    expect(await liveOf(userId)).toEqual([]);

    expect(await services.checkoutConfirmation.confirmReturn(actor(userId), new URLSearchParams({ checkout: "success", session_id: sessionId }))).toBe("applied");

    expect(await liveOf(userId)).toEqual([{ status: "active", plan: "starter", quantity: 1 }]);
    expect(await prisma().customer.count({ where: { organizationId: personalOrganizationId(userId), provider: "stripe" } })).toBe(1);
    const lines = await prisma().billingActivity.findMany({ where: { organizationId: personalOrganizationId(userId), action: "subscription_change" } });
    expect(lines.map((line) => line.outcome)).toEqual(["started"]);

    // Again (a reload): the same state, no second line; through the page's door, no provider call at all.
    expect(await services.checkoutConfirmation.confirm(actor(userId), sessionId)).toBe("applied");
    expect(await prisma().billingActivity.count({ where: { organizationId: personalOrganizationId(userId), action: "subscription_change" } })).toBe(1);
    const calls = emulator.requests("stripe").length;
    const back = new URLSearchParams({ checkout: "success", session_id: sessionId });
    expect(await services.checkoutConfirmation.confirmReturn(actor(userId), back)).toBe("none");
    expect(emulator.requests("stripe").length).toBe(calls);
  });

  test("another user's session changes nothing", async () => {
    const owner = await newUser();
    const sessionId = await paidCheckout(owner);
    const other = await newUser();

    expect(await services.checkoutConfirmation.confirm(actor(other), sessionId)).toBe("not-yours");

    expect(await liveOf(other)).toEqual([]);
    expect(await liveOf(owner)).toEqual([]);
    expect(await prisma().customer.count({ where: { organizationId: { in: [owner, other].map(personalOrganizationId) } } })).toBe(0);
  });

  test("a forged or unknown reference changes nothing and reaches no provider when it is not a session id", async () => {
    const userId = await newUser();
    expect(await services.checkoutConfirmation.confirm(actor(userId), "cs_test_doesNotExist000")).toBe("unknown");
    const before = emulator.requests("stripe").length;
    expect(await services.checkoutConfirmation.confirm(actor(userId), "../v1/customers")).toBe("unknown");
    expect(emulator.requests("stripe").length).toBe(before);
    expect(await liveOf(userId)).toEqual([]);
  });

  test("a provider that cannot be reached leaves it being confirmed", async () => {
    const userId = await newUser();
    const sessionId = await paidCheckout(userId);
    emulator.failNext("stripe", { status: 500, times: 2 });

    expect(await services.checkoutConfirmation.confirm(actor(userId), sessionId)).toBe("unreachable");
    expect(await liveOf(userId)).toEqual([]);
  });

  // Issue 16, item 7: "Choose Pro" in one tab, "Choose Starter" in another.
  test("a new checkout expires the user's earlier one still open: only the newer can be paid", async () => {
    const userId = await newUser();
    const provider = createBillingProvider({ ...services.config.billing, emulatorOrigin: emulator.origin });
    const checkout = createBillingCheckout({ prisma: prisma(), provider, appOrigin: APP });
    const first = await checkout.start({ ...actor(userId), input: { plan: "pro" } });
    const other = await newUser();
    const othersOpen = await checkout.start({ ...actor(other), input: { plan: "pro" } });
    const second = await checkout.start({ ...actor(userId), input: { plan: "starter" } });
    if (!first.ok || !second.ok || !othersOpen.ok) throw new Error("checkout did not start");

    expect((await pay(first.url)).status).toBe(410);
    expect((await pay(othersOpen.url)).status).toBe(303);
    const paid = await pay(second.url);
    expect(paid.status).toBe(303);
    const sessionId = new URL(paid.headers.get("location")!).searchParams.get("session_id")!;
    expect(await services.checkoutConfirmation.confirm(actor(userId), sessionId)).toBe("applied");
    expect(await liveOf(userId)).toEqual([{ status: "active", plan: "starter", quantity: 1 }]);
  });

  // Issue 16, item 9: the owner's recent invoices, with the provider's hosted link.
  test("the account page's invoices: date, amount, status and Stripe's hosted link; a failure is one short sentence", async () => {
    const userId = await newUser();
    expect(await services.invoices.recent(actor(userId))).toEqual({ kind: "none" });
    const sessionId = await paidCheckout(userId);
    await services.checkoutConfirmation.confirm(actor(userId), sessionId);

    const view = await services.invoices.recent(actor(userId));
    expect(view).toMatchObject({ kind: "list", invoices: [{ amount: "$9.00", status: "Paid", date: expect.stringMatching(/^[A-Z][a-z]+ \d{1,2}, \d{4}$/) }] });
    const url = view.kind === "list" ? view.invoices[0]!.url! : "";
    expect(url.startsWith(`${emulator.origin}/invoices/stripe/in_`)).toBe(true);
    expect((await fetch(url)).status).toBe(200);

    // Asked again within a minute: from the instance's short cache, no provider call.
    const calls = emulator.requests("stripe").length;
    expect(await services.invoices.recent(actor(userId))).toEqual(view);
    expect(emulator.requests("stripe").length).toBe(calls);

    const other = await newUser();
    await services.checkoutConfirmation.confirm(actor(other), await paidCheckout(other));
    emulator.failNext("stripe", { status: 500, times: 2, body: { error: { message: "Something broke" } } });
    const failed = await services.invoices.recent(actor(other));
    expect(failed).toEqual({ kind: "unavailable", message: "Your invoices cannot be shown right now. Please try again later." });
  });
});
