import { performance } from "node:perf_hooks";
import { startMailbox } from "../emulator/mailbox.ts";
import { createTestDatabase } from "../tests/database.ts";
import { jobRows } from "../tests/jobs.ts";
import { createJobRunner } from "~/jobs/jobs.server.ts";
import { createMailer, enqueueMail, MAIL_JOB_KIND } from "~/mail/mail.server.ts";

/**
 * Issue 19's mail targets, in one process (`npx tsx bench/mail.bench.ts`; TEST_DATABASE_URL for PostgreSQL):
 * the outbox drains 1,000 mails into the local catcher in under 60 s, with 0 lost and 0 sent twice
 * across a restart of the runner mid-drain and with two runners at once.
 */
const MAILS = Number(process.env.BENCH_MAILS ?? 1000);

const database = await createTestDatabase();
const mailbox = await startMailbox();
const mailer = () => createMailer({ from: "bench@portal.test", smtpUrl: async () => mailbox.smtpUrl });
const runner = (sender: ReturnType<typeof mailer>) =>
  createJobRunner({ prisma: database.prisma, handlers: { [MAIL_JOB_KIND]: sender.handleJob }, batchSize: 50, pollMs: 50 });

await runner(mailer()).ready();
for (let index = 0; index < MAILS; index += 1) {
  await enqueueMail(database.prisma, {
    template: "password-reset",
    to: `bench-${index}@portal.test`,
    props: { url: `http://localhost:3000/reset-password?token=${index}` },
    subject: `bench-${index}`,
  });
}

const started = performance.now();
// The first instance stops a quarter of the way (a deploy); then two instances share the rest.
const firstMailer = mailer();
const first = runner(firstMailer);
await first.start();
while (mailbox.messages().length < MAILS / 4) await new Promise((done) => setTimeout(done, 20));
await first.stop();
firstMailer.close();
const mailers = [mailer(), mailer()];
const runners = mailers.map(runner);
await Promise.all(runners.map((each) => each.start()));
// Done mail jobs are deleted (ADR 027): the queue is drained when pg-boss holds none of the kind.
while ((await jobRows(database, MAIL_JOB_KIND)).length > 0) await new Promise((done) => setTimeout(done, 100));
const seconds = (performance.now() - started) / 1000;
await Promise.all(runners.map((each) => each.stop()));
for (const each of mailers) each.close();

const recipients = mailbox.messages().flatMap((mail) => mail.to);
const unique = new Set(recipients).size;
const result = { database: database.kind, mails: MAILS, seconds: Number(seconds.toFixed(2)), lost: MAILS - unique, sentTwice: recipients.length - unique };
console.log(JSON.stringify(result));
await mailbox.close();
await database.close();
process.exit(result.lost === 0 && result.sentTwice === 0 && seconds < 60 ? 0 : 1);
