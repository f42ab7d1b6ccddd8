import type { PrismaClient } from "~/db/generated/client.ts";
import { findPlan } from "~/billing/plans.ts";
import type { AppliedSubscriptionChange } from "~/billing/subscription-state.server.ts";
import type { JobWriter } from "~/jobs/jobs.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { enqueueMail } from "./mail.server.ts";

/**
 * Billing mail (SPEC "Email") from subscription changes that were applied: the webhook service
 * calls `onSubscriptionApplied` in the transaction that wrote the change, so a duplicate or
 * stale event (nothing applied) sends nothing, and each mail's key makes a second copy of one
 * change impossible.
 */

type State = NonNullable<AppliedSubscriptionChange["previous"]>;

export type BillingMailKind = "subscription-started" | "payment-failed" | "cancellation-scheduled" | "subscription-ended";

const LIVE = new Set(["active", "trialing", "past_due"]);
const FAILED = new Set(["past_due", "unpaid"]);
const ENDED = new Set(["canceled", "expired"]);

/** Which mails a change calls for: a pure function of the state before and after. */
export function billingMailsFor(previous: State | null, next: State): BillingMailKind[] {
  const kinds: BillingMailKind[] = [];
  const wasLive = previous !== null && LIVE.has(previous.status);
  if ((next.status === "active" || next.status === "trialing") && !wasLive) kinds.push("subscription-started");
  if (FAILED.has(next.status) && !(previous && FAILED.has(previous.status))) kinds.push("payment-failed");
  if (next.cancelAtPeriodEnd && LIVE.has(next.status) && !previous?.cancelAtPeriodEnd) kinds.push("cancellation-scheduled");
  if (ENDED.has(next.status) && previous !== null && !ENDED.has(previous.status)) kinds.push("subscription-ended");
  return kinds;
}

/** How a date reads in a mail: "7 December 2026" (UTC, as the provider's period ends). */
export function mailDate(date: Date | null): string {
  return date ? date.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }) : "the end of the period";
}

function planName(plan: string | null): string {
  return findPlan(plan)?.name ?? "PortalStack";
}

export function createBillingMail(deps: { prisma: PrismaClient; appOrigin: string; onMailQueued?: () => void }) {
  const { prisma, appOrigin } = deps;
  const url = (path: string) => new URL(path, appOrigin).href;


  async function onSubscriptionApplied(tx: JobWriter & Pick<PrismaClient, "membership">, change: AppliedSubscriptionChange): Promise<void> {
    const kinds = billingMailsFor(change.previous, change.next);
    if (kinds.length === 0) return;
    // Billing mail goes to the billing owner's owners (SPEC "Email"), each once.
    const owners = await tx.membership.findMany({
      where: { organizationId: change.organizationId, role: "owner" },
      select: { userId: true, user: { select: { email: true } } },
      orderBy: { createdAt: "asc" },
    });
    const period = change.next.currentPeriodEnd?.toISOString() ?? "none";
    const plan = planName(change.plan);
    for (const owner of owners) for (const kind of kinds) {
      const to = owner.user.email;
      // The recipient is part of the outbox's dedup key: each owner gets one, a redelivered cause none more.
      const subscription = `${change.provider}:${change.providerSubscriptionId}:${owner.userId}`;
      if (kind === "subscription-started") {
        await enqueueMail(tx, { template: kind, to, subject: subscription, props: { plan, accountUrl: url("/account") } });
      } else if (kind === "payment-failed") {
        // One per failed period; the button is the one-click payment-method deep link.
        await enqueueMail(tx, { template: kind, to, subject: `${subscription}:${period}`, props: { plan, paymentMethodUrl: url("/billing/payment-method") } });
      } else if (kind === "cancellation-scheduled") {
        const endsOn = mailDate(change.next.currentPeriodEnd);
        await enqueueMail(tx, { template: kind, to, subject: `${subscription}:${period}`, props: { plan, endsOn, accountUrl: url("/account") } });
      } else {
        await enqueueMail(tx, { template: kind, to, subject: subscription, props: { plan, pricingUrl: url("/pricing") } });
      }
    }
    logEvent("info", "mail.billing.queued", { kinds: kinds.join(","), provider: change.provider });
  }

  /** The daily job: a mail to each trial that ends between 2 and 3 days from now (one per trial and end date). */
  async function sendTrialEndingMail(now = new Date()): Promise<number> {
    const from = new Date(now.getTime() + 2 * 24 * 60 * 60 * 1000);
    const to = new Date(now.getTime() + 3 * 24 * 60 * 60 * 1000);
    const trials = await prisma.subscription.findMany({
      where: { status: "trialing", cancelAtPeriodEnd: false, currentPeriodEnd: { gt: from, lte: to } },
      select: {
        provider: true,
        providerSubscriptionId: true,
        plan: true,
        currentPeriodEnd: true,
        // To the billing owner's owners (SPEC "Email").
        organization: { select: { memberships: { where: { role: "owner" }, select: { userId: true, user: { select: { email: true } } } } } },
      },
    });
    let queued = 0;
    for (const trial of trials) for (const owner of trial.organization.memberships) {
      const written = await enqueueMail(prisma, {
        template: "trial-ending",
        to: owner.user.email,
        subject: `${trial.provider}:${trial.providerSubscriptionId}:${trial.currentPeriodEnd!.toISOString()}:${owner.userId}`,
        props: { plan: planName(trial.plan), endsOn: mailDate(trial.currentPeriodEnd), accountUrl: url("/account") },
      });
      if (written) queued += 1;
    }
    if (queued > 0) deps.onMailQueued?.();
    return queued;
  }

  return { onSubscriptionApplied, sendTrialEndingMail };
}

export type BillingMail = ReturnType<typeof createBillingMail>;
export const TRIAL_ENDING_JOB_KIND = "trial-ending-mail";
