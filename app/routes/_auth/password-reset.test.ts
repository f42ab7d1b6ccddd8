import { RouterContextProvider } from "react-router";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase } from "../../../tests/database.ts";
import { countingKdf } from "../../../tests/counting-kdf.ts";
import { get, post } from "../../../tests/requests.ts";
import { type Mailbox, startMailbox } from "../../../emulator/mailbox.ts";
import { createAuth, type Auth } from "~/auth/auth.server.ts";
import { createPasswordHashing } from "~/auth/password-hashing.server.ts";
import { COMMON_PASSWORD_MESSAGE } from "~/auth/password-rules.server.ts";
import { createPasswordReset, hashToken, INVALID_RESET_LINK_MESSAGE, type PasswordReset, RESET_REQUESTED_MESSAGE } from "~/auth/password-reset.server.ts";
import type { Database } from "~/db/database.server.ts";
import { createJobRunner, type JobRunner } from "~/jobs/jobs.server.ts";
import { createMailer, MAIL_JOB_KIND, type Mailer } from "~/mail/mail.server.ts";
import { createRateLimits, type RateLimits } from "~/rate-limits/rate-limits.server.ts";
import * as forgotPassword from "./forgot-password.tsx";
import * as login from "./login.tsx";
import * as resetPassword from "./reset-password.tsx";
import { clearJobs, jobRows } from "../../../tests/jobs.ts";

// The reset doors as the routes run them, on a test database, with the mail read from a real SMTP catcher.
const services = vi.hoisted(() => ({
  auth: undefined as unknown as Auth,
  passwordReset: undefined as unknown as PasswordReset,
  services: { config: { seedDemoData: false } },
}));
vi.mock("~/services.server.ts", () => services);

const EMAIL = "reset@portal.test";
const OLD_PASSWORD = "first-long-passphrase";
const NEW_PASSWORD = "second-long-passphrase";
const ANSWER_MS = 150;

let database: Database;
let mailbox: Mailbox;
let mailer: Mailer;
let jobs: JobRunner;
let rateLimits: RateLimits;
const kdf = countingKdf({ cheap: true });

beforeAll(async () => {
  database = await createTestDatabase();
  mailbox = await startMailbox();
  mailer = createMailer({ from: "no-reply@portal.test", smtpUrl: async () => mailbox.smtpUrl });
  jobs = createJobRunner({ prisma: database.prisma, handlers: { [MAIL_JOB_KIND]: mailer.handleJob } });
  await jobs.ready();
  rateLimits = createRateLimits({
    driver: database.driver,
    limits: {
      loginFailuresPerEmailAndAddress: 0,
      loginAttemptsPerAddress: 0,
      signupsPerAddressPerHour: 0,
      providerCallsPerUserPerMinute: 0,
      passwordResetsPerEmailPerHour: 3,
      passwordResetsPerAddressPerHour: 0,
    },
  });
  services.auth = createAuth({
    prisma: database.prisma,
    read: database.read,
    sessionSecrets: ["test-session-secret-0123456789abcdef"],
    secureCookie: false,
    passwordHashing: createPasswordHashing({ deriveKey: kdf.deriveKey }),
  });
  services.passwordReset = createPasswordReset({
    prisma: database.prisma,
    auth: services.auth,
    appOrigin: "http://localhost",
    limits: { perEmail: rateLimits.passwordResetsPerEmail, perAddress: rateLimits.passwordResetsPerAddress },
    answerMs: ANSWER_MS,
  });
}, 60_000);
afterAll(async () => {
  rateLimits.stop();
  await jobs.stop();
  mailer.close();
  await mailbox.close();
  await database.close();
});
beforeEach(async () => {
  await database.prisma.user.deleteMany();
  await clearJobs(database);
  await database.prisma.rateLimit.deleteMany();
  mailbox.clear();
  await services.auth.passwords.hash(OLD_PASSWORD).then((hash) =>
    database.prisma.user.create({ data: { email: EMAIL, password: { create: { hash } } } }),
  );
});

function args<T>(request: Request): T {
  return { request, params: {}, context: new RouterContextProvider() } as T;
}

async function settle(run: () => Promise<unknown>): Promise<{ status: number; headers: Headers; data?: unknown }> {
  const outcome = await run().catch((thrown: unknown) => thrown);
  if (outcome instanceof Response) return { status: outcome.status, headers: outcome.headers };
  if (outcome && typeof outcome === "object" && "init" in outcome) {
    const { data, init } = outcome as { data: unknown; init?: ResponseInit };
    return { status: init?.status ?? 200, headers: new Headers(init?.headers), data };
  }
  return { status: 200, headers: new Headers(), data: outcome };
}

async function mailsTo(email: string) {
  while ((await jobs.runOnce()) > 0);
  return mailbox.messages().filter((mail) => mail.to.includes(email));
}

async function requestLink(email = EMAIL): Promise<string> {
  const before = (await mailsTo(email)).length;
  await settle(() => forgotPassword.action(args(post("/forgot-password", { email }))));
  const mails = await mailsTo(email);
  expect(mails).toHaveLength(before + 1);
  const link = /http:\/\/localhost\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mails.at(-1)!.text)?.[0];
  expect(link).toBeDefined();
  return new URL(link!).searchParams.get("token")!;
}

async function signIn(password: string) {
  return settle(() => login.action(args(post("/login", { email: EMAIL, password }))));
}

describe("POST /forgot-password", () => {
  it("gives the same answer, after at least the same time, whether or not the email has an account", async () => {
    const answers = [];
    for (const email of [EMAIL, "nobody-here@portal.test"]) {
      const started = performance.now();
      const answer = await settle(() => forgotPassword.action(args(post("/forgot-password", { email }))));
      answers.push({ status: answer.status, data: answer.data, slow: performance.now() - started >= ANSWER_MS - 5 });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({ status: 200, data: { sent: RESET_REQUESTED_MESSAGE }, slow: true });
    expect(await mailsTo("nobody-here@portal.test")).toHaveLength(0);
    expect(await mailsTo(EMAIL)).toHaveLength(1);
  });

  it("stores only the token's hash, valid for one hour", async () => {
    const token = await requestLink();
    const [row] = await database.prisma.accountToken.findMany();
    expect(row!.tokenHash).toBe(hashToken(token));
    expect(row!.tokenHash).not.toContain(token);
    expect(row!.expiresAt.getTime() - Date.now()).toBeGreaterThan(59 * 60 * 1000);
    expect(row!.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60 * 60 * 1000);
  });

  it("limits requests per email with 429 and Retry-After, and sends no mail for a refused one", async () => {
    const statuses = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      statuses.push((await settle(() => forgotPassword.action(args(post("/forgot-password", { email: EMAIL }))))).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await database.prisma.accountToken.count()).toBe(3);
    expect(await mailsTo(EMAIL)).toHaveLength(3);
  });

  it("answers a malformed email with 400 and a message, and sends nothing", async () => {
    for (const email of ["not an email", `a\r\nBcc: x@portal.test`, `"quoted"@portal.test`, `${"a".repeat(300)}@portal.test`]) {
      const answer = await settle(() => forgotPassword.action(args(post("/forgot-password", { email }))));
      expect({ email, status: answer.status }).toEqual({ email, status: 400 });
    }
    expect(await jobRows(database)).toHaveLength(0);
  });
});

describe("/reset-password", () => {
  it("sets the new password, signs out every other session, and signs this browser in", async () => {
    const elsewhere = (await signIn(OLD_PASSWORD)).headers.get("Set-Cookie")!.split(";")[0]!;
    const token = await requestLink();

    expect(await settle(() => resetPassword.loader(args(get(`/reset-password?token=${token}`))))).toMatchObject({ status: 200, data: { token } });
    const done = await settle(() => resetPassword.action(args(post("/reset-password", { token, password: NEW_PASSWORD }))));
    expect(done.status).toBe(302);
    expect(done.headers.get("Location")).toBe("/account");
    const cookie = done.headers.get("Set-Cookie")!.split(";")[0]!;

    expect(await services.auth.getUser(get("/account", cookie))).toMatchObject({ email: EMAIL });
    expect(await services.auth.getUser(get("/account", elsewhere))).toBeNull();
    expect((await signIn(OLD_PASSWORD)).status).toBe(400);
    expect((await signIn(NEW_PASSWORD)).status).toBe(302);
  });

  it("works once: a used link gets the page again with one clear message (400)", async () => {
    const token = await requestLink();
    await settle(() => resetPassword.action(args(post("/reset-password", { token, password: NEW_PASSWORD }))));

    const again = await settle(() => resetPassword.action(args(post("/reset-password", { token, password: "third-long-passphrase" }))));
    expect(again).toMatchObject({ status: 400, data: { error: INVALID_RESET_LINK_MESSAGE, tokenValid: false } });
    expect(await settle(() => resetPassword.loader(args(get(`/reset-password?token=${token}`))))).toMatchObject({ status: 400 });
  });

  it("refuses an expired, unknown or malformed token with 400, never a 500", async () => {
    const token = await requestLink();
    await database.prisma.accountToken.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } });
    for (const candidate of [token, "A".repeat(43), "short", "x".repeat(5000), ""]) {
      const answer = await settle(() => resetPassword.action(args(post("/reset-password", { token: candidate, password: NEW_PASSWORD }))));
      expect(answer).toMatchObject({ status: 400, data: { error: INVALID_RESET_LINK_MESSAGE } });
    }
    expect((await signIn(OLD_PASSWORD)).status).toBe(302);
  });

  it("refuses a new password that breaks the rules, saying why, and keeps the link usable", async () => {
    const token = await requestLink();
    const answer = await settle(() => resetPassword.action(args(post("/reset-password", { token, password: "password1" }))));
    expect(answer).toMatchObject({ status: 400, data: { error: COMMON_PASSWORD_MESSAGE, tokenValid: true } });
    expect(await services.passwordReset.isUsable(token)).toBe(true);
  });
});
