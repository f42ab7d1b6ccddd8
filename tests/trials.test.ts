import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createBillingCheckout } from "~/billing/checkout.server.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { createBillingProvider } from "~/billing/providers/registry.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { pay, startReceiver, type Receiver } from "../emulator/lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "../emulator/provider-emulator.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { createTestDatabase } from "./database.ts";

// SPEC "Plans and checkout" (trials), PROVIDERS.md §5.5, for each provider through its real SDK against the
// emulator: a plan's trial days start at checkout in the provider's own words, the provider's signed webhooks
// (status trialing / on_trial, trial_end / trial_ends_at) reach the app's webhook service, and an owner who had a
// trial gets none the second time.

const APP = "http://app.test";
const DAY = 86_400_000;
const SECRETS = { stripe: "whsec_trialsTestSecret", polar: "polar-trials-test-secret", lemonsqueezy: "lemon-trials-secret" };

let emulator: ProviderEmulator;
let receiver: Receiver;
beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: `${APP}/account` });
  receiver = await startReceiver();
}, 60_000);
afterAll(async () => {
  await receiver.close();
  await emulator.close();
});
afterEach(() => {
  emulator.reset();
  receiver.reset();
});

/** What the checkout call asked of the provider about a trial, read off the wire. */
function trialOnTheWire(provider: ProviderId): unknown {
  const request = emulator.requests(provider).findLast((each) => each.method === "POST" && /checkout/.test(each.path))!;
  if (provider === "stripe") return (request.body as Record<string, string>)["subscription_data[trial_period_days]"] ?? null;
  const body = request.body as any;
  if (provider === "polar") return { allow_trial: body.allow_trial, trial_interval: body.trial_interval, trial_interval_count: body.trial_interval_count };
  return body.data.attributes.checkout_options?.skip_trial ?? null;
}

const TRIAL_ASKED: Record<ProviderId, { first: unknown; second: unknown; starter: unknown }> = {
  stripe: { first: "14", second: null, starter: null },
  polar: {
    first: { allow_trial: undefined, trial_interval: "day", trial_interval_count: 14 },
    second: { allow_trial: false, trial_interval: undefined, trial_interval_count: undefined },
    starter: { allow_trial: false, trial_interval: undefined, trial_interval_count: undefined },
  },
  lemonsqueezy: { first: null, second: true, starter: true },
};

describe.each(PROVIDER_IDS)("trials with %s", (provider) => {
  let services: Services;
  let n = 0;
  beforeAll(async () => {
    services = await startServices(
      {
        ...parseConfig({
          APP_ENV: "test",
          APP_URL: APP,
          PAYMENT_PROVIDER: provider,
          PAYMENT_EMULATOR: "1",
          PAYMENT_EMULATOR_URL: emulator.origin,
          STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
          POLAR_WEBHOOK_SECRET: SECRETS.polar,
          LEMONSQUEEZY_WEBHOOK_SECRET: SECRETS.lemonsqueezy,
        }),
        seedDemoData: false,
      },
      { database: await createTestDatabase(), startJobs: false },
    );
    // The emulator's webhooks go to a receiver here; each is handed to the app's webhook service as it arrived.
    emulator.lifecycle.registerWebhooks(receiver.url, SECRETS);
  }, 60_000);
  afterAll(() => services.stop());

  const prisma = () => services.database.prisma;

  async function checkoutAndPay(userId: string, plan: "starter" | "pro") {
    const billing = createBillingProvider({ ...services.config.billing, emulatorOrigin: emulator.origin });
    const started = await createBillingCheckout({ prisma: prisma(), provider: billing, appOrigin: APP }).start({ userId, organizationId: personalOrganizationId(userId), input: { plan } });
    if (!started.ok) throw new Error(`checkout did not start: ${started.failure.kind}`);
    const asked = trialOnTheWire(provider);
    expect((await pay(started.url)).status).toBe(303);
    // Every webhook the payment sent, through the app's own verification and parsing.
    for (const webhook of receiver.received.splice(0)) {
      const response = await services.handleWebhook(
        webhook.provider,
        new Request(`${APP}/webhooks/${webhook.provider}`, {
          method: "POST",
          headers: Object.entries(webhook.headers).flatMap(([name, value]) => (typeof value === "string" ? [[name, value] as [string, string]] : [])),
          body: webhook.body,
        }),
      );
      expect(response.status).toBe(200);
    }
    return asked;
  }

  test("a first checkout of Pro starts its 14-day trial; the app stores it trialing with its end", async () => {
    const userId = (await prisma().user.create({ data: { email: `trial-${provider}-${++n}@example.test` } })).id;
    const before = Date.now();
    expect(await checkoutAndPay(userId, "pro")).toEqual(TRIAL_ASKED[provider].first);

    const [stored] = await prisma().subscription.findMany({ where: { organizationId: personalOrganizationId(userId) } });
    expect(stored).toMatchObject({ status: "trialing", plan: "pro", hadTrial: true });
    expect(stored!.trialEnd!.getTime()).toBeGreaterThanOrEqual(before + 14 * DAY - 1000);
    expect(stored!.trialEnd!.getTime()).toBeLessThanOrEqual(Date.now() + 14 * DAY + 1000);
  });

  test("one trial per owner: after the first ended, a second checkout asks for none and is paid at once", async () => {
    const userId = (await prisma().user.create({ data: { email: `trial-${provider}-${++n}@example.test` } })).id;
    await checkoutAndPay(userId, "pro");
    // The trial ended without converting (as a cancellation would leave it).
    await prisma().subscription.updateMany({ where: { organizationId: personalOrganizationId(userId) }, data: { status: "canceled", trialEnd: null } });

    expect(await checkoutAndPay(userId, "pro")).toEqual(TRIAL_ASKED[provider].second);
    const statuses = (await prisma().subscription.findMany({ where: { organizationId: personalOrganizationId(userId) }, orderBy: { createdAt: "asc" } })).map((s) => s.status);
    expect(statuses).toEqual(["canceled", "active"]);
  });

  test("a plan without trial days starts none", async () => {
    const userId = (await prisma().user.create({ data: { email: `trial-${provider}-${++n}@example.test` } })).id;
    expect(await checkoutAndPay(userId, "starter")).toEqual(TRIAL_ASKED[provider].starter);
    expect(await prisma().subscription.findMany({ where: { organizationId: personalOrganizationId(userId) }, select: { status: true, trialEnd: true, hadTrial: true } })).toEqual([
      { status: "active", trialEnd: null, hadTrial: false },
    ]);
  });
});
