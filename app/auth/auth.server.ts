import { redirect } from "react-router";
import { Authenticator } from "remix-auth";
import { FormStrategy } from "remix-auth-form";
import { z } from "zod";
import { Prisma, type PrismaClient } from "~/db/generated/client.ts";
import { LoginSchema, SignupSchema, submittedEmail } from "./credentials.ts";
import { hashPassword, needsRehash, verifyPassword } from "./password.server.ts";
import { safeRedirectPath } from "~/http/safe-url.ts";
import { createSessionStore, type SessionUser } from "./session.server.ts";

export type AuthUser = SessionUser;

export const INVALID_CREDENTIALS_MESSAGE = "Invalid email or password.";
export const EMAIL_TAKEN_MESSAGE = "An account with this email already exists.";

export type LoginResult =
  | { ok: true; user: AuthUser; headers: Headers }
  | { ok: false; error: typeof INVALID_CREDENTIALS_MESSAGE; email: string };

export type SignupFieldErrors = { email?: string[]; password?: string[] };

export type SignupResult =
  | { ok: true; user: AuthUser; headers: Headers }
  | { ok: false; fieldErrors: SignupFieldErrors; email: string };

export type Auth = {
  /** The signed-in user, or null (no cookie, or one that is tampered with, expired or logged out). */
  getUser(request: Request): Promise<AuthUser | null>;
  /**
   * The signed-in user; otherwise throws a redirect to `/login?redirectTo=…` (the request's
   * path and query unless `redirectTo` is given) that also clears a dead cookie.
   */
  requireUser(request: Request, options?: { redirectTo?: string }): Promise<AuthUser>;
  /** Throws a redirect to `/account` when someone is already signed in. */
  requireAnonymous(request: Request): Promise<void>;
  /** Checks the posted `email` and `password` (remix-auth FormStrategy) and opens a session. */
  login(request: Request): Promise<LoginResult>;
  /** Creates an account from the posted `email` and `password` and opens a session. */
  signup(request: Request): Promise<SignupResult>;
  /** Deletes the server-side session, so a copied cookie stops working, and clears the cookie. */
  logout(request: Request): Promise<{ headers: Headers }>;
};

export type AuthOptions = {
  prisma: PrismaClient;
  /** SESSION_SECRET, newest first. */
  sessionSecrets: string[];
  /** True when the app's URL is https. */
  secureCookie: boolean;
};

type LoginCheck = { ok: true; user: AuthUser } | { ok: false; email: string };

export function createAuth({ prisma, sessionSecrets, secureCookie }: AuthOptions): Auth {
  const sessions = createSessionStore({ prisma, secrets: sessionSecrets, secure: secureCookie });

  const authenticator = new Authenticator<LoginCheck>().use(
    new FormStrategy(async ({ form }) => checkCredentials(form)),
    "form",
  );

  async function checkCredentials(form: FormData): Promise<LoginCheck> {
    const parsed = LoginSchema.safeParse(Object.fromEntries(form));
    if (!parsed.success) return { ok: false, email: submittedEmail(form) };
    const { email, password } = parsed.data;
    const user = await prisma.user.findUnique({
      where: { email },
      select: { id: true, email: true, password: { select: { hash: true } } },
    });
    // verifyPassword spends the same time when there is no user, so timing does not tell.
    const hash = user?.password?.hash;
    if (!user || !(await verifyPassword(password, hash))) return { ok: false, email: submittedEmail(form) };
    if (hash && needsRehash(hash)) {
      await prisma.password.update({ where: { userId: user.id }, data: { hash: await hashPassword(password) } });
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

    async login(request) {
      const check = await authenticator.authenticate("form", request);
      if (!check.ok) return { ok: false, error: INVALID_CREDENTIALS_MESSAGE, email: check.email };
      return { ok: true, user: check.user, headers: await startSession(request, check.user.id) };
    },

    async signup(request) {
      const form = await request.formData();
      const email = submittedEmail(form);
      const parsed = SignupSchema.safeParse(Object.fromEntries(form));
      if (!parsed.success) return { ok: false, fieldErrors: z.flattenError(parsed.error).fieldErrors, email };
      const emailTaken: SignupResult = { ok: false, fieldErrors: { email: [EMAIL_TAKEN_MESSAGE] }, email };

      const existing = await prisma.user.findUnique({ where: { email: parsed.data.email }, select: { id: true } });
      if (existing) return emailTaken;
      let user: AuthUser;
      try {
        user = await prisma.user.create({
          data: { email: parsed.data.email, password: { create: { hash: await hashPassword(parsed.data.password) } } },
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
  };
}
