import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS } from "~/billing/plans.ts";
import { parseConfig } from "~/config/env.server.ts";
import { billingMailsFor } from "~/mail/billing-mail.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";
import { sign, subscriptionEvent, webhookRequest, type SubscriptionFacts } from "./webhook-events.ts";
import { clearJobs } from "./jobs.ts";

// SPEC "Email": billing mail from applied webhook changes only, read from the emulator's local mailbox over real SMTP.

const APP = "http://app.test";
const SECRET = "whsec_billingMailTestSecret";
const DAY = 24 * 60 * 60 * 1000;

let services: Services;
beforeAll(async () => {
  services = await startServices(
    parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_EMULATOR: "1", STRIPE_WEBHOOK_SECRET: SECRET }),
    { database: await createTestDatabase(), startJobs: false },
  );
}, 60_000);
afterAll(() => services.stop());
beforeEach(() => services.emulator!.mailbox.clear());

let n = 0;
async function subscriber(): Promise<SubscriptionFacts & { email: string }> {
  n += 1;
  const email = `billing-mail-${n}@portal.test`;
  const user = await services.database.prisma.user.create({ data: { email } });
  return {
    email,
    userId: user.id,
    customerId: `cus_Mail${n}`,
    subscriptionId: `sub_Mail${n}`,
    status: "active",
    planId: DEMO_PLAN_PROVIDER_IDS.stripe.pro,
    periodEnd: new Date(Date.now() + 20 * DAY),
    at: new Date(Date.now() - 60_000),
  };
}

function delivery(facts: SubscriptionFacts) {
  return sign("stripe", subscriptionEvent("stripe", facts), SECRET);
}

async function deliver(signed: ReturnType<typeof sign>) {
  const response = await services.handleWebhook("stripe", webhookRequest(`${APP}/webhooks/stripe`, signed));
  return ((await response.json()) as { outcome: string }).outcome;
}

async function subjectsTo(email: string): Promise<string[]> {
  while ((await services.jobs.runOnce()) > 0);
  return services.emulator!.mailbox.messages().filter((mail) => mail.to.includes(email)).map((mail) => mail.subject);
}

async function trialMails(email: string): Promise<string[]> {
  return (await subjectsTo(email)).filter((subject) => subject.includes("trial ends"));
}

describe("billing mail", () => {
  test("a new subscription sends one welcome mail; a redelivered event sends nothing more", async () => {
    const facts = await subscriber();
    const first = delivery(facts);
    expect(await deliver(first)).toBe("processed");
    expect(await deliver(first)).toBe("duplicate");
    expect(await subjectsTo(facts.email)).toEqual(["Your PortalStack subscription has started"]);
  });

  test("a failed renewal sends the payment-failed mail whose button is the payment-method deep link", async () => {
    const facts = await subscriber();
    await deliver(delivery(facts));
    await deliver(delivery({ ...facts, status: "past_due", at: new Date() }));
    await subjectsTo(facts.email);

    const mail = services.emulator!.mailbox.messages().find((message) => message.subject.startsWith("Your payment failed"));
    expect(mail?.to).toEqual([facts.email]);
    expect(mail?.html).toContain(`href="${APP}/billing/payment-method"`);
    expect(mail?.text).toContain(`${APP}/billing/payment-method`);
  });

  test("a stale event, older than the stored state, sends nothing", async () => {
    const facts = await subscriber();
    await deliver(delivery(facts));
    expect(await deliver(delivery({ ...facts, status: "past_due", at: new Date(facts.at.getTime() - 60_000) }))).toBe("ignored");
    expect(await subjectsTo(facts.email)).toEqual(["Your PortalStack subscription has started"]);
  });

  test("a cancellation at period end, then the end, each send their mail once", async () => {
    const facts = await subscriber();
    await deliver(delivery(facts));
    await deliver(delivery({ ...facts, cancelAtPeriodEnd: true, at: new Date(Date.now() - 30_000) }));
    await deliver(delivery({ ...facts, cancelAtPeriodEnd: true, at: new Date(Date.now() - 20_000) }));
    await deliver(delivery({ ...facts, status: "canceled", at: new Date() }));
    expect((await subjectsTo(facts.email)).toSorted()).toEqual([
      "Your PortalStack subscription has ended",
      "Your PortalStack subscription has started",
      "Your PortalStack subscription will end",
    ]);
  });

  test("the daily job mails each trial that ends in 3 days, once, however often it runs", async () => {
    const trial = await subscriber();
    await deliver(delivery({ ...trial, status: "trialing", periodEnd: new Date(Date.now() + 2.5 * DAY) }));
    const later = await subscriber();
    await deliver(delivery({ ...later, status: "trialing", periodEnd: new Date(Date.now() + 10 * DAY) }));
    // Today's run happened in an earlier test; this is the next day's.
    await clearJobs(services.database, "trial-ending-mail");

    expect(await trialMails(trial.email)).toEqual(["Your PortalStack trial ends in 3 days"]);
    // The job runs again (another day's key, another instance): the trial's mail is not written twice.
    await clearJobs(services.database, "trial-ending-mail");
    expect(await trialMails(trial.email)).toEqual(["Your PortalStack trial ends in 3 days"]);
    expect(await trialMails(later.email)).toEqual([]);
  });
});

describe("which changes call for a mail", () => {
  test("only transitions do: the same state again calls for none", () => {
    expect(billingMailsFor(null, { status: "active", cancelAtPeriodEnd: false })).toEqual(["subscription-started"]);
    expect(billingMailsFor({ status: "active", cancelAtPeriodEnd: false }, { status: "active", cancelAtPeriodEnd: false })).toEqual([]);
    expect(billingMailsFor({ status: "past_due", cancelAtPeriodEnd: false }, { status: "unpaid", cancelAtPeriodEnd: false })).toEqual([]);
    expect(billingMailsFor({ status: "past_due", cancelAtPeriodEnd: false }, { status: "active", cancelAtPeriodEnd: false })).toEqual([]);
    expect(billingMailsFor({ status: "canceled", cancelAtPeriodEnd: false }, { status: "active", cancelAtPeriodEnd: false })).toEqual(["subscription-started"]);
  });
});
