import { findPlan } from "~/billing/plans.ts";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import { LIVE_SUBSCRIPTION_STATUSES } from "~/billing/subscription-status.ts";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { Prisma, type PrismaClient } from "~/db/generated/client.ts";
import { readForm } from "~/http/form-body.ts";
import { enqueueMail } from "~/mail/mail.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { type Auth, UNREADABLE_FORM_MESSAGE, type SignedInUser } from "./auth.server.ts";
import { PasswordHashingBusyError } from "./password-hashing.server.ts";
import { hashToken, RESET_TOKEN_TTL_MS } from "./password-reset.server.ts";
import { newPasswordProblem } from "./password-rules.server.ts";

/**
 * `/settings` (SPEC "Auth"): change the password (the current one required; other sessions signed
 * out), change the email (confirmed by a link mailed to the new address), delete the account
 * (the password again). Each answers with a message for the page, or a redirect.
 */

export type SettingsIntent = "password" | "email" | "delete";
export type SettingsResult =
  | { ok: true; intent: SettingsIntent; message: string; headers?: Headers; redirectTo?: string }
  | { ok: false; intent: SettingsIntent | null; error: string; status: 400 | 409 | 503 };

export const WRONG_PASSWORD_MESSAGE = "Your current password is not right.";
export const EMAIL_CHANGE_SENT_MESSAGE = "We have mailed a confirmation link to the new address. The change happens when you open it (within 1 hour).";
export const INVALID_EMAIL_LINK_MESSAGE = "This confirmation link is not valid: it may have been used already, have expired, or be incomplete.";

const NewEmail = z.string().trim().toLowerCase().min(1).max(254).pipe(z.email()).refine((email) => !/[\r\n"]/.test(email));
const TokenField = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export function createAccountSettings(deps: { prisma: PrismaClient; auth: Auth; appOrigin: string; onMailQueued?: () => void }) {
  const { prisma, auth, appOrigin } = deps;

  async function passwordMatches(userId: string, password: unknown): Promise<boolean> {
    if (typeof password !== "string" || password.length === 0 || password.length > 1024) return false;
    const row = await prisma.password.findUnique({ where: { userId }, select: { hash: true } });
    return auth.passwords.verify(password, row?.hash);
  }

  async function act(request: Request, user: SignedInUser): Promise<SettingsResult> {
    const form = await readForm(request);
    if (!form) return { ok: false, intent: null, error: UNREADABLE_FORM_MESSAGE, status: 400 };
    const intent = form.get("intent");
    if (intent !== "password" && intent !== "email" && intent !== "delete") {
      return { ok: false, intent: null, error: "Choose one of the forms on this page.", status: 400 };
    }
    try {
      if (!(await passwordMatches(user.id, form.get("currentPassword")))) return { ok: false, intent, error: WRONG_PASSWORD_MESSAGE, status: 400 };

      if (intent === "password") {
        const problem = newPasswordProblem(form.get("newPassword"));
        if (problem) return { ok: false, intent, error: problem, status: 400 };
        const hash = await auth.passwords.hash(form.get("newPassword") as string);
        await prisma.password.update({ where: { userId: user.id }, data: { hash } });
        await auth.signOutOtherSessions(request);
        logEvent("info", "auth.password_changed", { userId: user.id });
        return { ok: true, intent, message: "Your password is changed. Every other session of your account is signed out." };
      }

      if (intent === "email") {
        const email = NewEmail.safeParse(form.get("newEmail"));
        if (!email.success) return { ok: false, intent, error: "Enter a valid email address, like name@example.com.", status: 400 };
        if (email.data === user.email) return { ok: false, intent, error: "That is already your email address.", status: 400 };
        const token = randomBytes(32).toString("base64url");
        const tokenHash = hashToken(token);
        await prisma.$transaction(async (tx) => {
          await tx.accountToken.create({
            data: { tokenHash, purpose: "email_change", newEmail: email.data, userId: user.id, expiresAt: new Date(Date.now() + RESET_TOKEN_TTL_MS) },
          });
          await enqueueMail(tx, {
            template: "email-change",
            to: email.data,
            props: { url: new URL(`/settings/confirm-email?token=${token}`, appOrigin).href },
            subject: tokenHash,
          });
        });
        deps.onMailQueued?.();
        return { ok: true, intent, message: EMAIL_CHANGE_SENT_MESSAGE };
      }

      // SPEC "Auth": refused while the user is the last owner of an organisation with a live subscription (deleting
      // the account would leave the provider charging a customer nobody can reach), with the reason and the way out.
      const owned = await prisma.subscription.findMany({
        where: {
          status: { in: [...LIVE_SUBSCRIPTION_STATUSES] },
          organization: { memberships: { some: { userId: user.id, role: "owner" } } },
        },
        select: { plan: true, provider: true, organization: { select: { memberships: { where: { role: "owner" }, select: { userId: true } } } } },
      });
      const live = owned.find((subscription) => subscription.organization.memberships.length === 1);
      if (live) {
        return {
          ok: false,
          intent,
          error: `Your ${live.plan ? `${findPlan(live.plan)?.name ?? live.plan} ` : ""}subscription with ${PROVIDER_NAMES[live.provider]} is still live. Cancel it with Manage billing on your account page first; then you can delete your account.`,
          status: 409,
        };
      }
      await prisma.user.delete({ where: { id: user.id } });
      logEvent("info", "auth.account_deleted", { userId: user.id });
      const { headers } = await auth.logout(request);
      return { ok: true, intent, message: "Your account is deleted.", headers, redirectTo: "/" };
    } catch (error) {
      if (!(error instanceof PasswordHashingBusyError)) throw error;
      return { ok: false, intent, error: "We are busy right now. Please try again in a moment.", status: 503 };
    }
  }

  /** Confirms an email change from the link mailed to the new address; false when the link cannot be used. */
  async function confirmEmail(token: unknown): Promise<{ ok: true } | { ok: false; error: string }> {
    if (!TokenField.safeParse(token).success) return { ok: false, error: INVALID_EMAIL_LINK_MESSAGE };
    const row = await prisma.accountToken.findUnique({ where: { tokenHash: hashToken(token as string) } });
    if (!row || row.purpose !== "email_change" || !row.newEmail || row.usedAt || row.expiresAt.getTime() <= Date.now()) {
      return { ok: false, error: INVALID_EMAIL_LINK_MESSAGE };
    }
    try {
      const done = await prisma.$transaction(async (tx) => {
        const claimed = await tx.accountToken.updateMany({ where: { id: row.id, usedAt: null }, data: { usedAt: new Date() } });
        if (claimed.count === 0) return false;
        await tx.user.update({ where: { id: row.userId }, data: { email: row.newEmail! } });
        return true;
      });
      return done ? { ok: true } : { ok: false, error: INVALID_EMAIL_LINK_MESSAGE };
    } catch (error) {
      // Someone took the address since the link was sent: the unique index decides.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        return { ok: false, error: "An account with this email already exists, so the change cannot be made." };
      }
      throw error;
    }
  }

  return { act, confirmEmail };
}

export type AccountSettings = ReturnType<typeof createAccountSettings>;
