import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "~/db/database.server.ts";
import { createJobRunner, enqueueJob, type JobRunner } from "~/jobs/jobs.server.ts";
import { createTestDatabase } from "../../tests/database.ts";
import { clearJobs, jobRows } from "../../tests/jobs.ts";
import { type Mailbox, startMailbox } from "../../emulator/mailbox.ts";
import { createMailer, enqueueMail, MAIL_JOB_KIND, type Mailer } from "./mail.server.ts";

// The outbox end to end over real SMTP: the emulator's catcher (smtp-server), never a mock transport.

let database: Database;
let mailbox: Mailbox;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  // The mail queue exists, as the app's start makes it (a runner with a handler for the kind).
  await createJobRunner({ prisma: database.prisma, handlers: { [MAIL_JOB_KIND]: async () => {} } }).ready();
}, 60_000);
afterAll(async () => {
  await database.close();
});
beforeEach(async () => {
  mailbox = await startMailbox();
  await clearJobs(database);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  await mailbox.close();
});

function outbox(options: { smtpUrl?: () => string; retryDelaySeconds?: number; maxAttempts?: number } = {}): { runner: JobRunner; mailer: Mailer } {
  const mailer = createMailer({ from: "PortalStack <no-reply@portal.test>", smtpUrl: async () => (options.smtpUrl ?? (() => mailbox.smtpUrl))() });
  const runner = createJobRunner({
    prisma: database.prisma,
    handlers: { [MAIL_JOB_KIND]: mailer.handleJob },
    retryDelaySeconds: options.retryDelaySeconds ?? 0,
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

    // Deleted with its data once sent; the key stays, so the same cause adds nothing later.
    expect(mailbox.messages()).toHaveLength(1);
    expect(await jobRows(database)).toEqual([]);
    expect(JSON.stringify(await database.read("SELECT * FROM \"JobKey\"", []))).not.toContain("token-3");
    expect(await database.prisma.jobKey.count({ where: { dedupKey: "mail:password-reset:reset-3" } })).toBe(1);
  });

  it("retries with backoff while SMTP is down, recording the failure's kind and no message text", async () => {
    // The runner's retry policy is the queue's, and a job takes it when written: the runner comes first.
    const { runner } = outbox({ smtpUrl: () => "smtp://127.0.0.1:1", retryDelaySeconds: 60 });
    await runner.ready();
    await enqueueMail(database.prisma, resetMail(4));
    await drain(runner);

    const [job] = await jobRows(database);
    // pg-boss counts retries as they start: one attempt made, none retried yet.
    expect(job).toMatchObject({ state: "retry", retryCount: 0 });
    expect(JSON.stringify(job!.output)).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    expect(JSON.stringify(job!.output)).not.toContain("127.0.0.1");
    // Backed off: not due again before its time.
    expect(job!.startAfter.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(await runner.runOnce()).toBe(0);
    expect(mailbox.messages()).toHaveLength(0);
  });

  it("sets a mail aside as dead after its last attempt, without sending it", async () => {
    const { runner } = outbox({ smtpUrl: () => "smtp://127.0.0.1:1", maxAttempts: 2 });
    await runner.ready();
    await enqueueMail(database.prisma, resetMail(5));
    await drain(runner);

    const [job] = await jobRows(database);
    expect(job).toMatchObject({ state: "failed", retryCount: 1 });
    expect(mailbox.messages()).toHaveLength(0);
  });

  it("loses no mail and sends none twice across an SMTP outage and a restart of the app", async () => {
    const port = Number(new URL(mailbox.smtpUrl).port);
    await mailbox.close();
    // The first app tries while SMTP is down, then stops (a deploy, a crash after its retries were written).
    const first = outbox({ smtpUrl: () => `smtp://127.0.0.1:${port}` });
    await first.runner.ready();
    for (let index = 0; index < 20; index += 1) await enqueueMail(database.prisma, resetMail(100 + index));
    await first.runner.runOnce();
    await first.runner.stop();
    first.mailer.close();
    expect((await jobRows(database)).filter((job) => job.state === "retry" && job.retryCount === 0)).toHaveLength(20);

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
    expect(await jobRows(database)).toHaveLength(0);
  });

  it("never sends a mail row whose header values carry a line break (a row written around enqueueMail)", async () => {
    await enqueueJob(database.prisma, {
      kind: MAIL_JOB_KIND,
      dedupKey: "mail:password-reset:injected",
      payload: { template: "password-reset", to: "victim@portal.test\nBcc: all@portal.test", props: { url: "http://x.test/" } },
    });
    await drain(outbox().runner);

    expect(mailbox.messages()).toHaveLength(0);
    expect(await jobRows(database)).toMatchObject([{ state: "cancelled", output: { reason: "invalid-mail" } }]);
  });
});
