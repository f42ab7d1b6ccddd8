import { redirect } from "react-router";
import { FormStrategy } from "remix-auth-form";
import { z } from "zod";
import { Prisma, type PrismaClient } from "~/db/generated/client.ts";
import type { RawRead } from "~/db/database.server.ts";
import { LoginSchema, SignupSchema, submittedEmail } from "./credentials.ts";
import { NO_LIMIT, type RateLimit } from "~/rate-limits/rate-limits.server.ts";
import { createPasswordHashing, PasswordHashingBusyError, type PasswordHashing } from "./password-hashing.server.ts";
import { NewPasswordSchema } from "./password-rules.server.ts";
import { readForm } from "~/http/form-body.ts";
import { safeRedirectPath } from "~/http/safe-url.ts";
import { createSessionStore, type SessionUser } from "./session.server.ts";

export type AuthUser = { id: string; email: string };

/** Signup's fields with the server-side password rules (the common-password list stays out of the browser bundle). */
const NewAccountSchema = SignupSchema.extend({ password: NewPasswordSchema });

/** The user a session cookie signs in, with their billing customers (read in the same query). */
export type SignedInUser = SessionUser;

export const INVALID_CREDENTIALS_MESSAGE = "Invalid email or password.";
export const UNREADABLE_FORM_MESSAGE = "We could not read that form. Please fill it in and try again.";
export const EMAIL_TAKEN_MESSAGE = "An account with this email already exists.";
export const BUSY_MESSAGE = "We are handling a lot of sign-ins right now. Please try again in a moment.";

/** The same words whether or not the email has an account: the counters exist for unknown emails too. */
export function tooManyLoginsMessage(retryAfterSeconds: number): string {
  return `Too many sign-in attempts. Please try again in ${waitPhrase(retryAfterSeconds)}.`;
}

export function tooManySignupsMessage(retryAfterSeconds: number): string {
  return `Too many accounts were created from your network. Please try again in ${waitPhrase(retryAfterSeconds)}.`;
}

/** A request refused before any password work: 429 past a rate limit, 503 when hashing is at capacity. */
export type Refusal = { status: 429 | 503; retryAfterSeconds: number };

/** The response status and `Retry-After` header for a refused login or signup. */
export function refusalInit(refusal: Refusal | undefined, otherwise: number): ResponseInit {
  if (!refusal) return { status: otherwise };
  return { status: refusal.status, headers: { "Retry-After": String(refusal.retryAfterSeconds) } };
}

/**
 * A route's `headers` export for pages whose action may refuse: React Router passes only an
 * action's cookies on to the document by default, and a refused browser needs `Retry-After` too.
 */
export function withRetryAfter({ parentHeaders, actionHeaders }: { parentHeaders: Headers; actionHeaders: Headers }): Headers {
  const headers = new Headers(parentHeaders);
  const retryAfter = actionHeaders.get("Retry-After");
  if (retryAfter) headers.set("Retry-After", retryAfter);
  return headers;
}

export type LoginResult =
  | { ok: true; user: AuthUser; headers: Headers }
  | { ok: false; error: typeof INVALID_CREDENTIALS_MESSAGE; email: string }
  | { ok: false; error: string; email: string; refusal: Refusal };

export type SignupFieldErrors = { email?: string[]; password?: string[] };

export type SignupResult =
  | { ok: true; user: AuthUser; headers: Headers }
  | { ok: false; fieldErrors: SignupFieldErrors; email: string; error?: string }
  | { ok: false; fieldErrors: SignupFieldErrors; error: string; email: string; refusal: Refusal };

export type Auth = {
  /** The signed-in user, or null (no cookie, or one that is tampered with, expired or logged out). */
  getUser(request: Request): Promise<SignedInUser | null>;
  /**
   * The signed-in user; otherwise throws a redirect to `/login?redirectTo=…` (the request's
   * path and query unless `redirectTo` is given) that also clears a dead cookie.
   */
  requireUser(request: Request, options?: { redirectTo?: string }): Promise<SignedInUser>;
  /** Throws a redirect to `/account` when someone is already signed in. */
  requireAnonymous(request: Request): Promise<void>;
  /**
   * Checks the posted `email` and `password` (remix-auth FormStrategy) and opens a session.
   * `clientAddress` (the trusted client IP) keys the rate limits.
   */
  login(request: Request, clientAddress?: string): Promise<LoginResult>;
  /** Creates an account from the posted `email` and `password` and opens a session. */
  signup(request: Request, clientAddress?: string): Promise<SignupResult>;
  /** Deletes the server-side session, so a copied cookie stops working, and clears the cookie. */
  logout(request: Request): Promise<{ headers: Headers }>;
  /** Opens a session for a user whose identity another step proved (a reset link); the cookie's headers. */
  signIn(request: Request, userId: string): Promise<Headers>;
  /** Deletes every session of the signed-in user but this request's (a password change). */
  signOutOtherSessions(request: Request): Promise<void>;
  /** The process-wide bounded KDF, for the other doors that set or check a password. */
  passwords: PasswordHashing;
};

export type AuthOptions = {
  prisma: PrismaClient;
  /** The driver's own query for the session lookup on every request (Database.read). */
  read: RawRead;
  /** SESSION_SECRET, newest first. */
  sessionSecrets: string[];
  /** True when the app's URL is https. */
  secureCookie: boolean;
  /** SPEC "Rate limits" for login and signup; none when left out. */
  rateLimits?: { loginFailures: RateLimit; loginAttempts: RateLimit; signups: RateLimit };
  /** The process-wide bounded KDF; a private one when left out. */
  passwordHashing?: PasswordHashing;
};

/** Where no server entry told us the client's address (a unit test, a bare handler). */
const UNKNOWN_ADDRESS = "unknown";

type LoginCheck = { ok: true; user: AuthUser } | { ok: false; email: string; refusal?: Refusal };

export function createAuth({ prisma, read, sessionSecrets, secureCookie, rateLimits, passwordHashing }: AuthOptions): Auth {
  const sessions = createSessionStore({ prisma, read, secrets: sessionSecrets, secure: secureCookie });
  const limits = rateLimits ?? { loginFailures: NO_LIMIT, loginAttempts: NO_LIMIT, signups: NO_LIMIT };
  const passwords = passwordHashing ?? createPasswordHashing();

  async function checkCredentials(form: FormData, clientAddress: string): Promise<LoginCheck> {
    const typedEmail = submittedEmail(form);
    // Refusals past a limit come before any password work, so they are cheap.
    const addressLimited = await limits.loginAttempts.consume([clientAddress]);
    if (addressLimited) return { ok: false, email: typedEmail, refusal: { status: 429, ...addressLimited } };

    const parsed = LoginSchema.safeParse(Object.fromEntries(form));
    if (!parsed.success) return { ok: false, email: typedEmail };
    const { email, password } = parsed.data;

    // A failure is counted before the check (and the count cleared on success), so parallel guesses cannot
    // all slip in under the limit. Unknown emails are counted the same way, so a refusal tells nothing.
    const failureKey = [email, clientAddress];
    const emailLimited = await limits.loginFailures.consume(failureKey);
    if (emailLimited) return { ok: false, email: typedEmail, refusal: { status: 429, ...emailLimited } };

    const user = await prisma.user.findUnique({
      where: { email },
      select: { id: true, email: true, password: { select: { hash: true } } },
    });
    // Always verified, with a dummy hash when there is no user: an unknown email costs the same KDF run.
    const hash = user?.password?.hash;
    let matches: boolean;
    try {
      matches = await passwords.verify(password, hash);
    } catch (error) {
      if (!(error instanceof PasswordHashingBusyError)) throw error;
      await limits.loginFailures.refund(failureKey);
      return { ok: false, email: typedEmail, refusal: { status: 503, retryAfterSeconds: error.retryAfterSeconds } };
    }
    if (!user || !matches) return { ok: false, email: typedEmail };

    await limits.loginFailures.clear(failureKey);
    if (hash && passwords.needsRehash(hash)) {
      // The user is already through: a busy KDF keeps the old hash until the next login.
      const rehashed = await passwords.hash(password).catch((error: unknown) => {
        if (error instanceof PasswordHashingBusyError) return null;
        throw error;
      });
      if (rehashed) await prisma.password.update({ where: { userId: user.id }, data: { hash: rehashed } });
    }
    return { ok: true, user: { id: user.id, email: user.email } };
  }

  async function startSession(request: Request, userId: string): Promise<Headers> {
    // A session the browser already had is ended rather than left behind.
    await sessions.destroy(request);
    return new Headers({ "Set-Cookie": await sessions.create(userId) });
  }

  return {
    async getUser(request) {
      const lookup = await sessions.read(request);
      return lookup.status === "active" ? lookup.user : null;
    },

    async requireUser(request, options = {}) {
      const lookup = await sessions.read(request);
      if (lookup.status === "active") return lookup.user;
      const url = new URL(request.url);
      const target = safeRedirectPath(options.redirectTo ?? url.pathname + url.search, "");
      const headers = new Headers();
      if (lookup.status === "invalid") headers.set("Set-Cookie", await sessions.clearCookie());
      // 303 after a POST, so the browser follows with a GET.
      const status = request.method === "GET" || request.method === "HEAD" ? 302 : 303;
      throw redirect(target ? `/login?redirectTo=${encodeURIComponent(target)}` : "/login", { status, headers });
    },

    async requireAnonymous(request) {
      const lookup = await sessions.read(request);
      if (lookup.status === "active") throw redirect("/account");
    },

    async login(request, clientAddress = UNKNOWN_ADDRESS) {
      // A strategy per call, so its verify step gets the client address as a plain argument.
      const strategy = new FormStrategy<LoginCheck>(({ form }) => checkCredentials(form, clientAddress));
      const check = await strategy.authenticate(request);
      if (!check.ok) {
        const { email, refusal } = check;
        if (!refusal) return { ok: false, error: INVALID_CREDENTIALS_MESSAGE, email };
        const error = refusal.status === 429 ? tooManyLoginsMessage(refusal.retryAfterSeconds) : BUSY_MESSAGE;
        return { ok: false, error, email, refusal };
      }
      return { ok: true, user: check.user, headers: await startSession(request, check.user.id) };
    },

    async signup(request, clientAddress = UNKNOWN_ADDRESS) {
      const form = await readForm(request);
      if (!form) return { ok: false, fieldErrors: {}, error: UNREADABLE_FORM_MESSAGE, email: "" };
      const email = submittedEmail(form);
      const parsed = NewAccountSchema.safeParse(Object.fromEntries(form));
      if (!parsed.success) return { ok: false, fieldErrors: z.flattenError(parsed.error).fieldErrors, email };
      const emailTaken: SignupResult = { ok: false, fieldErrors: { email: [EMAIL_TAKEN_MESSAGE] }, email };

      // Every well-formed signup counts, taken emails included (they would otherwise list accounts freely).
      const addressLimited = await limits.signups.consume([clientAddress]);
      if (addressLimited) {
        const refusal: Refusal = { status: 429, ...addressLimited };
        return { ok: false, fieldErrors: {}, error: tooManySignupsMessage(refusal.retryAfterSeconds), email, refusal };
      }

      const existing = await prisma.user.findUnique({ where: { email: parsed.data.email }, select: { id: true } });
      if (existing) return emailTaken;
      let hash: string;
      try {
        hash = await passwords.hash(parsed.data.password);
      } catch (error) {
        if (!(error instanceof PasswordHashingBusyError)) throw error;
        await limits.signups.refund([clientAddress]);
        const refusal: Refusal = { status: 503, retryAfterSeconds: error.retryAfterSeconds };
        return { ok: false, fieldErrors: {}, error: BUSY_MESSAGE, email, refusal };
      }
      let user: AuthUser;
      try {
        user = await prisma.user.create({
          data: { email: parsed.data.email, password: { create: { hash } } },
          select: { id: true, email: true },
        });
      } catch (error) {
        // Two signups racing for the same email: the unique index decides.
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") return emailTaken;
        throw error;
      }
      return { ok: true, user, headers: await startSession(request, user.id) };
    },

    async logout(request) {
      return { headers: new Headers({ "Set-Cookie": await sessions.destroy(request) }) };
    },

    signIn: startSession,
    async signOutOtherSessions(request) {
      const lookup = await sessions.read(request);
      if (lookup.status !== "active") return;
      await prisma.session.deleteMany({ where: { userId: lookup.user.id, id: { not: lookup.sessionId } } });
    },
    passwords,
  };
}

/** "15 minutes", "1 minute", "30 seconds": how long a refused person waits, rounded up. */
function waitPhrase(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}
