import { randomUUID } from "node:crypto";
import { fromPrisma, PgBoss, type Db, type JobWithMetadata, type QueueOptions } from "pg-boss";
import type { PrismaClient } from "~/db/generated/client.ts";
import { driverFor, type DriverClient } from "~/db/database.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { JOB_SCHEMA, overDriver } from "./job-schema.server.ts";

/**
 * The app's one background job runner (ADR 027, which replaces ADR 020's own table; STYLE "Background work has
 * one runner"): pg-boss, in the app's own database (schema `pgboss`), does the queue — storage, the claim with
 * `FOR UPDATE SKIP LOCKED`, expiry of a crashed instance's jobs, retries with backoff, failed jobs kept for the
 * operator, one job per period for scheduled work. What stays ours: the job is written in the transaction of its
 * cause, beside a `JobKey` row that deduplicates forever per (kind, subject); a job's data is deleted once it has
 * run (a reset link must not outlive its mail); failures are logged by kind, never by message.
 */

/** What can write a job: the Prisma client, or the interactive transaction of the job's cause. */
export type JobWriter = Pick<PrismaClient, "$executeRaw" | "$queryRawUnsafe">;

export type NewJob = {
  kind: string;
  /** One job per key ever: the same cause enqueued twice (a redelivered webhook, a second instance) adds nothing. */
  dedupKey: string;
  payload: unknown;
  runAt?: Date;
};

/** The job's data in pg-boss: what the handler gets, and the key it was written under (none for scheduled work). */
type JobData = { payload: unknown; dedupKey?: string };

/** The retry policy every queue gets unless its runner says otherwise (the queue is created by whoever comes first). */
export const DEFAULT_MAX_ATTEMPTS = 12;
/** 5 s, 10 s, 20 s … capped at 30 minutes: twelve attempts cover an SMTP outage of about three hours. */
export const DEFAULT_RETRY_DELAY_SECONDS = 5;
const MAX_RETRY_DELAY_SECONDS = 30 * 60;
/** How long a claimed job is an instance's own; past it (a crash), pg-boss's supervision hands it out again. */
const DEFAULT_LEASE_SECONDS = 60;
/** Failed (dead) jobs are kept this long for the operator; done jobs with a key are deleted at once. */
const KEEP_FINISHED_SECONDS = 14 * 24 * 3600;

function queueOptions(policy: { maxAttempts: number; retryDelaySeconds: number; leaseSeconds: number }): QueueOptions {
  return {
    retryLimit: policy.maxAttempts - 1,
    retryDelay: policy.retryDelaySeconds,
    // pg-boss's backoff waits at least a second; a delay of 0 (tests) retries at once, without backoff.
    ...(policy.retryDelaySeconds > 0 ? { retryBackoff: true, retryDelayMax: MAX_RETRY_DELAY_SECONDS } : { retryBackoff: false }),
    expireInSeconds: policy.leaseSeconds,
    deleteAfterSeconds: KEEP_FINISHED_SECONDS,
  };
}

/**
 * Writes a job (in the caller's transaction when given one; in a transaction of its own otherwise): its key row
 * and the pg-boss job commit or roll back with the cause. False when the key was already taken. The kind's queue
 * must exist: a runner with a handler for it makes it (`ready()`, which `startServices` awaits); pg-boss makes a
 * queue with statements that cannot run inside the caller's transaction.
 */
export async function enqueueJob(writer: JobWriter, job: NewJob): Promise<boolean> {
  // The root client (a transaction has no $disconnect; it has a $transaction, which would nest): a transaction of its own.
  const client = writer as Partial<Pick<PrismaClient, "$transaction" | "$disconnect">>;
  if (typeof client.$disconnect === "function" && client.$transaction) return client.$transaction((tx) => enqueueJob(tx, job));
  const id = randomUUID();
  const taken = await writer.$executeRaw`
    INSERT INTO "JobKey" ("dedupKey", "kind", "jobId") VALUES (${job.dedupKey}, ${job.kind}, ${id}::uuid)
    ON CONFLICT ("dedupKey") DO NOTHING`;
  if (taken === 0) return false;
  // pg-boss's own insert, through the caller's transaction (its Prisma adapter); a PgBoss built only to write.
  const db = fromPrisma(writer);
  const boss = new PgBoss({ db, schema: JOB_SCHEMA });
  const data: JobData = { payload: job.payload, dedupKey: job.dedupKey };
  await boss.send(job.kind, data, { db, id, ...(job.runAt ? { startAfter: job.runAt } : {}) });
  return true;
}

/** A job failed in a way retrying cannot fix (a refused address): it is set aside at once. */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

export type ClaimedJob = { id: string; kind: string; dedupKey: string | null; payload: unknown; attempts: number };
export type JobHandler = (payload: unknown, job: ClaimedJob) => Promise<void>;

/**
 * Work the runners enqueue themselves, one job per period across all instances (pg-boss's singleton slot:
 * `singletonSeconds` with the kind as key), run by one instance. `period` is a UTC day, an hour, or a number of
 * minutes.
 */
export type Schedule = {
  kind: string;
  period: "day" | "hour" | { minutes: number };
  payload?: unknown;
  /** How long one run may take before pg-boss counts it as dead and retries it; one period's run by default. */
  leaseSeconds?: number;
  /**
   * A period's run waits for the period's end instead of running when it is first offered (the reconciler: a start
   * or a deploy is no reason to read every customer from the providers; its first run is one interval later).
   */
  atPeriodEnd?: boolean;
};

export type JobRunnerOptions = {
  prisma: PrismaClient;
  /** The database's own driver (node-postgres); by default the one `openDatabase` made `prisma` with. */
  driver?: DriverClient;
  handlers: Record<string, JobHandler>;
  schedules?: Schedule[];
  /** How often an idle runner looks for work; `wake()` looks at once. */
  pollMs?: number;
  /** How long a claimed job is an instance's own; past it (a crash), another instance runs it again. */
  leaseSeconds?: number;
  /** Jobs claimed at a time, per kind, by one instance. */
  batchSize?: number;
  /** Attempts before a job is set aside as dead (kept for the operator, see docs/deployment.md). */
  maxAttempts?: number;
  /** The wait before the second attempt; doubled for each later one, capped at 30 minutes. 0: at once. */
  retryDelaySeconds?: number;
};

const SCHEDULE_CHECK_MS = 60_000;

export type JobRunner = {
  /** Installs or checks the queues, then starts polling; jobs enqueued before (a restart) are picked up. */
  start(): Promise<void>;
  /** Installs or checks the queues (and applies this runner's retry policy to them) without polling. */
  ready(): Promise<void>;
  /** Looks for work now (after an enqueue, so a reset mail leaves within the request's second). */
  wake(): void;
  /** Claims and runs one batch; the number of jobs run. Tests and benchmarks drive the runner with it. */
  runOnce(): Promise<number>;
  /** Stops polling and waits for the jobs in hand. */
  stop(): Promise<void>;
};

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { handlers } = options;
  const driver = options.driver ?? driverFor(options.prisma);
  if (!driver) throw new Error("createJobRunner: no database driver for this Prisma client (pass `driver`).");
  const pollMs = options.pollMs ?? 1000;
  const batchSize = options.batchSize ?? 20;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const queue = queueOptions({
    maxAttempts,
    retryDelaySeconds: options.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS,
    leaseSeconds: options.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
  });
  const schedules = options.schedules ?? [];
  const db: Db = overDriver(driver);
  const boss = new PgBoss({
    db,
    schema: JOB_SCHEMA,
    // pg-boss's cron is not used: scheduled work is a singleton job per period (below), which also catches up a
    // period whose start no instance was running for.
    schedule: false,
    registerInstance: false,
    useListenNotify: false,
    persistWarnings: false,
  });
  boss.on("error", (error: unknown) => logEvent("warn", "job.queue_error", { reason: failureReason(error) }));

  let prepared: Promise<void> | undefined;
  let bossStarted = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  let again = false;
  let schedulesCheckedAt = 0;
  // Once a minute is enough for daily and hourly work; a shorter period (a test's seconds) is looked at as often.
  const scheduleCheckMs = Math.min(SCHEDULE_CHECK_MS, ...schedules.map((schedule) => periodSeconds(schedule) * 1000));

  function ready(): Promise<void> {
    prepared ??= (async () => {
      for (const kind of Object.keys(handlers)) {
        const schedule = schedules.find((each) => each.kind === kind);
        const policy = schedule ? scheduleQueueOptions(schedule) : queue;
        if (await boss.getQueue(kind)) await boss.updateQueue(kind, policy);
        // A scheduled kind's queue runs one job at a time across instances (a run that outlasts its period).
        else await boss.createQueue(kind, { ...policy, ...(schedule ? { policy: "singleton" } : {}) });
      }
    })().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  }

  async function ensureSchedules(force: boolean): Promise<void> {
    // Not a statement per schedule on every poll.
    if (!force && Date.now() - schedulesCheckedAt < scheduleCheckMs) return;
    schedulesCheckedAt = Date.now();
    for (const schedule of schedules) {
      // One job per slot ever (pg-boss's unique index on the slot and key, kept while the finished job is kept).
      const data: JobData = { payload: schedule.payload ?? {} };
      const seconds = periodSeconds(schedule);
      // pg-boss's slots are whole multiples of the period since the epoch: this slot ends at the next multiple.
      const startAfter = schedule.atPeriodEnd ? new Date((Math.floor(Date.now() / 1000 / seconds) + 1) * seconds * 1000) : undefined;
      await boss.send(schedule.kind, data, { singletonKey: schedule.kind, singletonSeconds: seconds, ...(startAfter ? { startAfter } : {}) });
    }
  }

  async function runJob(kind: string, job: JobWithMetadata<JobData>): Promise<void> {
    const handler = handlers[kind];
    const claimed: ClaimedJob = { id: job.id, kind, dedupKey: job.data?.dedupKey ?? null, payload: job.data?.payload, attempts: job.retryCount + 1 };
    try {
      if (!handler) throw new PermanentJobError("no-handler");
      await handler(claimed.payload, claimed);
      // A job with a key is deleted, data and all (a reset link must not outlive its mail): its JobKey row is the
      // record. A scheduled job is kept as done, which is what keeps its period's slot taken.
      if (claimed.dedupKey) await boss.deleteJob(kind, job.id);
      else await boss.complete(kind, job.id);
      logEvent("debug", "job.done", { kind, attempts: claimed.attempts });
    } catch (error) {
      const reason = failureReason(error);
      const permanent = error instanceof PermanentJobError;
      const dead = permanent || job.retryCount >= job.retryLimit;
      // The failure's kind only: pg-boss keeps it as the job's output, where a message could carry an address.
      await boss.fail(kind, job.id, { reason });
      // Retrying cannot help: set aside at once (pg-boss has no "fail without retry"; cancelled is its set-aside state).
      if (permanent && !(job.retryCount >= job.retryLimit)) await boss.cancel(kind, job.id);
      logEvent(dead ? "error" : "warn", dead ? "job.dead" : "job.retry", { kind, attempts: claimed.attempts, reason });
    }
  }

  async function runBatch(forceSchedules: boolean): Promise<{ count: number; full: boolean }> {
    await ready();
    await ensureSchedules(forceSchedules);
    let count = 0;
    let full = false;
    await Promise.all(
      Object.keys(handlers).map(async (kind) => {
        const jobs = await boss.fetch<JobData>(kind, { batchSize, includeMetadata: true });
        count += jobs.length;
        if (jobs.length >= batchSize) full = true;
        await Promise.all(jobs.map((job) => runJob(kind, job)));
      }),
    );
    return { count, full };
  }

  function loop(): void {
    if (stopped || running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    running = runBatch(false)
      .catch((error: unknown) => {
        // The database is away (a restart, a failover): the next poll tries again.
        logEvent("warn", "job.poll_failed", { reason: failureReason(error) });
        return { count: 0, full: false };
      })
      .then(({ full }) => {
        running = undefined;
        if (stopped) return;
        // A full batch or a wake during the run: there may be more, look again at once.
        const next = full || again ? 0 : pollMs;
        again = false;
        timer = setTimeout(loop, next);
        timer.unref();
      });
  }

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      // pg-boss's supervision (jobs of a crashed instance handed out again after their lease, finished jobs deleted
      // after their time) runs in every polling instance; pg-boss runs one instance's at a time.
      bossStarted = true;
      await boss.start().catch((error: unknown) => logEvent("warn", "job.poll_failed", { reason: failureReason(error) }));
      await ready().catch((error: unknown) => logEvent("warn", "job.poll_failed", { reason: failureReason(error) }));
      loop();
    },
    ready,
    wake() {
      if (!stopped) loop();
    },
    runOnce: async () => (await runBatch(true)).count,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await prepared?.catch(() => undefined);
      // Our adapter's pool belongs to the app (closed by database.close()); pg-boss only stops its timers.
      if (bossStarted) await boss.stop({ graceful: true, close: false, timeout: 30_000 });
    },
  };
}

function periodSeconds(schedule: Schedule): number {
  if (schedule.period === "day") return 24 * 3600;
  if (schedule.period === "hour") return 3600;
  return Math.max(1, Math.round(schedule.period.minutes * 60));
}

function scheduleQueueOptions(schedule: Schedule): QueueOptions {
  // A failed run is not retried: the next period runs it again.
  return { retryLimit: 0, expireInSeconds: Math.max(1, Math.round(schedule.leaseSeconds ?? periodSeconds(schedule))), deleteAfterSeconds: Math.max(KEEP_FINISHED_SECONDS, 2 * periodSeconds(schedule)) };
}

/** A failure's kind for the log and the job's output: an error's name and code, never its message. */
function failureReason(error: unknown): string {
  if (error instanceof PermanentJobError) return error.reason;
  const code = (error as { code?: unknown; responseCode?: unknown }).responseCode ?? (error as { code?: unknown }).code;
  const name = error instanceof Error ? error.name : typeof error;
  return typeof code === "string" || typeof code === "number" ? `${name}:${code}` : name;
}
