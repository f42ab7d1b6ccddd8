import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../tests/database.ts";
import { countingKdf } from "../../tests/counting-kdf.ts";
import { get, post } from "../../tests/requests.ts";
import { type Mailbox, startMailbox } from "../../emulator/mailbox.ts";
import type { Database } from "~/db/database.server.ts";
import { createJobRunner, type JobRunner } from "~/jobs/jobs.server.ts";
import { createMailer, MAIL_JOB_KIND, type Mailer } from "~/mail/mail.server.ts";
import { createAccountSettings, EMAIL_CHANGE_SENT_MESSAGE, INVALID_EMAIL_LINK_MESSAGE, WRONG_PASSWORD_MESSAGE } from "./account-settings.server.ts";
import { type Auth, createAuth } from "./auth.server.ts";
import { createPasswordHashing } from "./password-hashing.server.ts";
import { COMMON_PASSWORD_MESSAGE } from "./password-rules.server.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// `/settings` as its service runs it, on a test database, with the confirmation mail read over real SMTP.

const EMAIL = "settings@portal.test";
const PASSWORD = "first-long-passphrase";

let database: Database;
let mailbox: Mailbox;
let mailer: Mailer;
let jobs: JobRunner;
let auth: Auth;
let settings: ReturnType<typeof createAccountSettings>;

beforeAll(async () => {
  database = await createTestDatabase();
  mailbox = await startMailbox();
  mailer = createMailer({ from: "no-reply@portal.test", smtpUrl: async () => mailbox.smtpUrl });
  jobs = createJobRunner({ prisma: database.prisma, handlers: { [MAIL_JOB_KIND]: mailer.handleJob } });
  auth = createAuth({
    prisma: database.prisma,
    read: database.read,
    sessionSecrets: ["test-session-secret-0123456789abcdef"],
    secureCookie: false,
    passwordHashing: createPasswordHashing({ deriveKey: countingKdf({ cheap: true }).deriveKey }),
  });
  settings = createAccountSettings({ prisma: database.prisma, auth, appOrigin: "http://localhost" });
}, 60_000);
afterAll(async () => {
  await jobs.stop();
  mailer.close();
  await mailbox.close();
  await database.close();
});
beforeEach(async () => {
  await database.prisma.user.deleteMany();
  await database.prisma.job.deleteMany();
  await database.prisma.user.create({ data: { email: EMAIL, password: { create: { hash: await auth.passwords.hash(PASSWORD) } } } });
  mailbox.clear();
});

async function session(password = PASSWORD): Promise<string> {
  const result = await auth.login(post("/login", { email: EMAIL, password }));
  if (!result.ok) throw new Error("could not sign in");
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

async function act(cookie: string, fields: Record<string, string>) {
  const user = (await auth.getUser(get("/settings", cookie)))!;
  return settings.act(post("/settings", fields, cookie), user);
}

describe("change password", () => {
  it("needs the current password, follows the password rules, and signs out the other sessions only", async () => {
    const here = await session();
    const elsewhere = await session();
    expect(await act(here, { intent: "password", currentPassword: "not-it-at-all", newPassword: "second-long-passphrase" })).toMatchObject({ ok: false, error: WRONG_PASSWORD_MESSAGE, status: 400 });
    expect(await act(here, { intent: "password", currentPassword: PASSWORD, newPassword: "password" })).toMatchObject({ ok: false, error: COMMON_PASSWORD_MESSAGE });

    expect(await act(here, { intent: "password", currentPassword: PASSWORD, newPassword: "second-long-passphrase" })).toMatchObject({ ok: true });
    expect(await auth.getUser(get("/account", here))).toMatchObject({ email: EMAIL });
    expect(await auth.getUser(get("/account", elsewhere))).toBeNull();
    expect((await auth.login(post("/login", { email: EMAIL, password: "second-long-passphrase" }))).ok).toBe(true);
  });
});

describe("change email", () => {
  it("mails a link to the new address; opening it once changes the email", async () => {
    const cookie = await session();
    expect(await act(cookie, { intent: "email", currentPassword: PASSWORD, newEmail: "New@Portal.test" })).toMatchObject({ ok: true, message: EMAIL_CHANGE_SENT_MESSAGE });
    expect(await database.prisma.user.count({ where: { email: EMAIL } })).toBe(1);
    while ((await jobs.runOnce()) > 0);
    const [mail] = mailbox.messages();
    expect(mail!.to).toEqual(["new@portal.test"]);
    const token = new URL(/http:\/\/localhost\/settings\/confirm-email\?token=[\w-]+/.exec(mail!.text)![0]).searchParams.get("token");

    expect(await settings.confirmEmail(token)).toEqual({ ok: true });
    expect(await database.prisma.user.findFirst({ select: { email: true } })).toEqual({ email: "new@portal.test" });
    expect(await settings.confirmEmail(token)).toEqual({ ok: false, error: INVALID_EMAIL_LINK_MESSAGE });
    expect(await settings.confirmEmail("not-a-token")).toEqual({ ok: false, error: INVALID_EMAIL_LINK_MESSAGE });
  });

  it("refuses a malformed new address or a wrong password, and mails nothing", async () => {
    const cookie = await session();
    for (const newEmail of ["nope", "a@b.test\r\nBcc: x@y.test", `${"a".repeat(300)}@x.test`]) {
      expect(await act(cookie, { intent: "email", currentPassword: PASSWORD, newEmail })).toMatchObject({ ok: false, status: 400 });
    }
    expect(await act(cookie, { intent: "email", currentPassword: "wrong-password!", newEmail: "other@portal.test" })).toMatchObject({ ok: false, error: WRONG_PASSWORD_MESSAGE });
    expect(await database.prisma.job.count()).toBe(0);
  });
});

describe("delete account", () => {
  it("needs the password again, then deletes the account and signs out", async () => {
    const cookie = await session();
    expect(await act(cookie, { intent: "delete", currentPassword: "wrong-password!" })).toMatchObject({ ok: false, error: WRONG_PASSWORD_MESSAGE });
    expect(await database.prisma.user.count()).toBe(1);

    const deleted = await act(cookie, { intent: "delete", currentPassword: PASSWORD });
    expect(deleted).toMatchObject({ ok: true, redirectTo: "/" });
    expect(await database.prisma.user.count()).toBe(0);
    expect(await auth.getUser(get("/account", cookie))).toBeNull();
  });

  it("is refused, with the reason, while the account still pays for a subscription; allowed once it has ended", async () => {
    const cookie = await session();
    const user = await database.prisma.user.findUniqueOrThrow({ where: { email: EMAIL } });
    const subscription = await database.prisma.subscription.create({
      data: {
        organizationId: personalOrganizationId(user.id),
        provider: "stripe",
        providerSubscriptionId: "sub_delete_refused",
        providerCustomerId: "cus_delete_refused",
        plan: "pro",
        status: "past_due",
        cancelAtPeriodEnd: false,
        providerUpdatedAt: new Date(),
      },
    });
    const refused = await act(cookie, { intent: "delete", currentPassword: PASSWORD });
    expect(refused).toMatchObject({ ok: false, status: 409 });
    expect(refused.ok ? "" : refused.error).toMatch(/Pro subscription with Stripe is still live\. Cancel it/);
    expect(await database.prisma.user.count()).toBe(1);

    await database.prisma.subscription.update({ where: { id: subscription.id }, data: { status: "canceled" } });
    expect(await act(cookie, { intent: "delete", currentPassword: PASSWORD })).toMatchObject({ ok: true });
    expect(await database.prisma.user.count()).toBe(0);
  });
});
