import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "~/db/database.server.ts";
import { createJobRunner, enqueueJob, type JobRunner } from "~/jobs/jobs.server.ts";
import { createTestDatabase } from "../../tests/database.ts";
import { type Mailbox, startMailbox } from "../../emulator/mailbox.ts";
import { createMailer, enqueueMail, MAIL_JOB_KIND, type Mailer } from "./mail.server.ts";

// The outbox end to end over real SMTP: the emulator's catcher (smtp-server), never a mock transport.

let database: Database;
let mailbox: Mailbox;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database.close();
});
beforeEach(async () => {
  mailbox = await startMailbox();
  await database.prisma.job.deleteMany();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  await mailbox.close();
});

function outbox(options: { smtpUrl?: () => string; backoffMs?: () => number; maxAttempts?: number } = {}): { runner: JobRunner; mailer: Mailer } {
  const mailer = createMailer({ from: "PortalStack <no-reply@portal.test>", smtpUrl: async () => (options.smtpUrl ?? (() => mailbox.smtpUrl))() });
  const runner = createJobRunner({
    prisma: database.prisma,
    handlers: { [MAIL_JOB_KIND]: mailer.handleJob },
    backoffMs: options.backoffMs ?? (() => 0),
    maxAttempts: options.maxAttempts,
    batchSize: 50,
  });
  cleanups.push(async () => {
    await runner.stop();
    mailer.close();
  });
  return { runner, mailer };
}

async function drain(runner: JobRunner): Promise<void> {
  while ((await runner.runOnce()) > 0);
}

function resetMail(index: number) {
  return {
    template: "password-reset" as const,
    to: `user${index}@portal.test`,
    props: { url: `http://localhost:3000/reset-password?token=token-${index}` },
    subject: `reset-${index}`,
  };
}

describe("the mail outbox", () => {
  it("sends a queued mail over SMTP with an HTML and a plain-text part, from MAIL_FROM", async () => {
    await enqueueMail(database.prisma, resetMail(1));
    await drain(outbox().runner);

    const [mail] = mailbox.messages();
    expect(mailbox.messages()).toHaveLength(1);
    expect(mail!.to).toEqual(["user1@portal.test"]);
    expect(mail!.from).toBe("no-reply@portal.test");
    expect(mail!.subject).toBe("Reset your PortalStack password");
    expect(mail!.html).toContain('href="http://localhost:3000/reset-password?token=token-1"');
    expect(mail!.text).toContain("http://localhost:3000/reset-password?token=token-1");
    expect(mail!.text).not.toContain("<");
  });

  it("writes one mail per (kind, subject): the same cause queued twice sends once", async () => {
    expect(await enqueueMail(database.prisma, resetMail(2))).toBe(true);
    const { runner } = outbox();
    await drain(runner);
    // A redelivered cause after the mail went out, and one before: both find the key taken.
    expect(await enqueueMail(database.prisma, resetMail(2))).toBe(false);
    await drain(runner);

    expect(mailbox.messages()).toHaveLength(1);
  });

  it("keeps the mail in the database only until it is sent: the link does not outlive the mail", async () => {
    await enqueueMail(database.prisma, resetMail(3));
    await drain(outbox().runner);

    const [job] = await database.prisma.job.findMany();
    expect(job).toMatchObject({ status: "done", payload: null, attempts: 1 });
  });

  it("retries with backoff while SMTP is down, recording the failure's kind and no message text", async () => {
    await enqueueMail(database.prisma, resetMail(4));
    const { runner } = outbox({ smtpUrl: () => "smtp://127.0.0.1:1", backoffMs: () => 60_000 });
    await drain(runner);

    const [job] = await database.prisma.job.findMany();
    expect(job).toMatchObject({ status: "pending", attempts: 1, lockedUntil: null });
    expect(job!.lastError).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    // Backed off: not due again before its time.
    expect(job!.runAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(await runner.runOnce()).toBe(0);
    expect(mailbox.messages()).toHaveLength(0);
  });

  it("sets a mail aside as dead after its last attempt, without sending it", async () => {
    await enqueueMail(database.prisma, resetMail(5));
    const { runner } = outbox({ smtpUrl: () => "smtp://127.0.0.1:1", maxAttempts: 2 });
    await drain(runner);

    const [job] = await database.prisma.job.findMany();
    expect(job).toMatchObject({ status: "dead", attempts: 2 });
  });

  it("loses no mail and sends none twice across an SMTP outage and a restart of the app", async () => {
    const port = Number(new URL(mailbox.smtpUrl).port);
    await mailbox.close();
    for (let index = 0; index < 20; index += 1) await enqueueMail(database.prisma, resetMail(100 + index));

    // The first app tries while SMTP is down, then stops (a deploy, a crash after its retries were written).
    const first = outbox({ smtpUrl: () => `smtp://127.0.0.1:${port}` });
    await first.runner.runOnce();
    await first.runner.stop();
    first.mailer.close();
    expect(await database.prisma.job.count({ where: { status: "pending", attempts: 1 } })).toBe(20);

    // SMTP is back on the same port; a new app process picks the queue up.
    mailbox = await startMailbox({ port });
    await drain(outbox({ smtpUrl: () => `smtp://127.0.0.1:${port}` }).runner);

    const recipients = mailbox.messages().flatMap((mail) => mail.to);
    expect(recipients).toHaveLength(20);
    expect(new Set(recipients).size).toBe(20);
  });

  it("two workers on one database never send one mail twice", async () => {
    for (let index = 0; index < 120; index += 1) await enqueueMail(database.prisma, resetMail(200 + index));
    const workers = [outbox().runner, outbox().runner];
    await Promise.all(workers.map((runner) => drain(runner)));

    const recipients = mailbox.messages().flatMap((mail) => mail.to);
    expect(recipients).toHaveLength(120);
    expect(new Set(recipients).size).toBe(120);
  });

  it("refuses an address with a line break before it reaches the outbox", async () => {
    await expect(enqueueMail(database.prisma, { ...resetMail(6), to: "victim@portal.test\r\nBcc: all@portal.test" })).rejects.toThrow("invalid-recipient");
    expect(await database.prisma.job.count()).toBe(0);
  });

  it("never sends a mail row whose header values carry a line break (a row written around enqueueMail)", async () => {
    await enqueueJob(database.prisma, {
      kind: MAIL_JOB_KIND,
      dedupKey: "mail:password-reset:injected",
      payload: { template: "password-reset", to: "victim@portal.test\nBcc: all@portal.test", props: { url: "http://x.test/" } },
    });
    await drain(outbox().runner);

    expect(mailbox.messages()).toHaveLength(0);
    expect(await database.prisma.job.findFirst()).toMatchObject({ status: "dead", lastError: "invalid-mail" });
  });
});
