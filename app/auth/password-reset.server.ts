import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { PrismaClient } from "~/db/generated/client.ts";
import { readForm } from "~/http/form-body.ts";
import { enqueueMail } from "~/mail/mail.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { NO_LIMIT, type RateLimit } from "~/rate-limits/rate-limits.server.ts";
import { type Auth, type Refusal, UNREADABLE_FORM_MESSAGE } from "./auth.server.ts";
import { PasswordHashingBusyError } from "./password-hashing.server.ts";
import { newPasswordProblem } from "./password-rules.server.ts";

/**
 * Password reset (SPEC "Email"): `/forgot-password` mails a link with a random token (only its
 * SHA-256 is stored; valid 1 hour, single use) and answers the same, in the same time, whether or
 * not the email has an account; `/reset-password` sets the new password, signs out every session
 * of the user and signs this browser in.
 */

export const RESET_TOKEN_TTL_MS = 60 * 60 * 1000;

/** Every answer to a well-formed request takes at least this long, so the time does not tell whether an account exists. */
export const FORGOT_PASSWORD_ANSWER_MS = 250;

export const RESET_REQUESTED_MESSAGE =
  "If an account exists for that email, we have sent it a link to choose a new password. The link works for 1 hour.";
export const INVALID_RESET_LINK_MESSAGE =
  "This reset link is not valid: it may have been used already, have expired, or be incomplete. Ask for a new one.";
export const INVALID_EMAIL_MESSAGE = "Enter a valid email address, like name@example.com.";

export function tooManyResetsMessage(retryAfterSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return `Too many reset requests. Please try again in ${minutes === 1 ? "1 minute" : `${minutes} minutes`}.`;
}

const EmailField = z.string().trim().toLowerCase().min(1).max(254).pipe(z.email()).refine((email) => !/[\r\n"]/.test(email));
/** Tokens are 32 random bytes in base64url: anything else is refused before the database is asked. */
const TokenField = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export type ForgotPasswordResult =
  | { ok: true; message: typeof RESET_REQUESTED_MESSAGE }
  | { ok: false; error: string; email: string; refusal?: Refusal };

export type ResetPasswordResult =
  | { ok: true; headers: Headers }
  | { ok: false; error: string; field?: "password"; tokenValid: boolean; refusal?: Refusal };

export type PasswordReset = {
  request(request: Request, clientAddress: string): Promise<ForgotPasswordResult>;
  /** Whether a link's token may still be used (the page shows the form or the message). */
  isUsable(token: string | null): Promise<boolean>;
  reset(request: Request): Promise<ResetPasswordResult>;
};

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function createPasswordReset(deps: {
  prisma: PrismaClient;
  auth: Auth;
  appOrigin: string;
  limits?: { perEmail: RateLimit; perAddress: RateLimit };
  /** Tells the outbox there is mail now (rather than at its next poll). */
  onMailQueued?: () => void;
  answerMs?: number;
}): PasswordReset {
  const { prisma, auth, appOrigin } = deps;
  const limits = deps.limits ?? { perEmail: NO_LIMIT, perAddress: NO_LIMIT };
  const answerMs = deps.answerMs ?? FORGOT_PASSWORD_ANSWER_MS;

  async function usableToken(token: unknown) {
    if (!TokenField.safeParse(token).success) return null;
    const row = await prisma.accountToken.findUnique({
      where: { tokenHash: hashToken(token as string) },
      select: { id: true, userId: true, purpose: true, usedAt: true, expiresAt: true },
    });
    if (!row || row.purpose !== "password_reset" || row.usedAt || row.expiresAt.getTime() <= Date.now()) return null;
    return row;
  }

  return {
    async request(request, clientAddress) {
      const form = await readForm(request);
      if (!form) return { ok: false, error: UNREADABLE_FORM_MESSAGE, email: "" };
      const typed = form.get("email");
      const email = EmailField.safeParse(typed);
      const shown = typeof typed === "string" ? typed.trim().slice(0, 254) : "";
      if (!email.success) return { ok: false, error: INVALID_EMAIL_MESSAGE, email: shown };

      const started = Date.now();
      const addressLimited = await limits.perAddress.consume([clientAddress]);
      const emailLimited = addressLimited ? null : await limits.perEmail.consume([email.data]);
      const limited = addressLimited ?? emailLimited;
      if (limited) return { ok: false, error: tooManyResetsMessage(limited.retryAfterSeconds), email: shown, refusal: { status: 429, ...limited } };

      const user = await prisma.user.findUnique({ where: { email: email.data }, select: { id: true, email: true } });
      if (user) {
        const token = randomBytes(32).toString("base64url");
        const tokenHash = hashToken(token);
        await prisma.$transaction(async (tx) => {
          await tx.accountToken.create({
            data: { tokenHash, purpose: "password_reset", userId: user.id, expiresAt: new Date(Date.now() + RESET_TOKEN_TTL_MS) },
          });
          // In the same transaction as its token: the link exists exactly when its mail is queued.
          await enqueueMail(tx, {
            template: "password-reset",
            to: user.email,
            props: { url: new URL(`/reset-password?token=${token}`, appOrigin).href },
            subject: tokenHash,
          });
        });
        deps.onMailQueued?.();
        logEvent("info", "auth.password_reset.requested", { userId: user.id });
      }
      // The same answer, after the same time, whether or not there was an account to write a link for.
      await sleep(Math.max(0, answerMs - (Date.now() - started)));
      return { ok: true, message: RESET_REQUESTED_MESSAGE };
    },

    async isUsable(token) {
      return (await usableToken(token)) !== null;
    },

    async reset(request) {
      const form = await readForm(request);
      if (!form) return { ok: false, error: UNREADABLE_FORM_MESSAGE, tokenValid: false };
      const token = form.get("token");
      const found = await usableToken(token);
      if (!found) return { ok: false, error: INVALID_RESET_LINK_MESSAGE, tokenValid: false };
      const problem = newPasswordProblem(form.get("password"));
      if (problem) return { ok: false, error: problem, field: "password", tokenValid: true };

      let hash: string;
      try {
        hash = await auth.passwords.hash(form.get("password") as string);
      } catch (error) {
        if (!(error instanceof PasswordHashingBusyError)) throw error;
        return { ok: false, error: "We are busy right now. Please try again in a moment.", tokenValid: true, refusal: { status: 503, retryAfterSeconds: error.retryAfterSeconds } };
      }
      const used = await prisma.$transaction(async (tx) => {
        // Single use: only the request that marks the token used goes on (two tabs racing get one success).
        const claimed = await tx.accountToken.updateMany({
          where: { id: found.id, usedAt: null, expiresAt: { gt: new Date() } },
          data: { usedAt: new Date() },
        });
        if (claimed.count === 0) return false;
        await tx.password.upsert({ where: { userId: found.userId }, create: { userId: found.userId, hash }, update: { hash } });
        // Any other reset link of this user dies with this one, and every session is signed out.
        await tx.accountToken.updateMany({ where: { userId: found.userId, purpose: "password_reset", usedAt: null }, data: { usedAt: new Date() } });
        await tx.session.deleteMany({ where: { userId: found.userId } });
        return true;
      });
      if (!used) return { ok: false, error: INVALID_RESET_LINK_MESSAGE, tokenValid: false };
      logEvent("info", "auth.password_reset.done", { userId: found.userId });
      return { ok: true, headers: await auth.signIn(request, found.userId) };
    },
  };
}
