import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { logEvent } from "~/observability/log.server.ts";

/**
 * The app's one background job runner (ADR 020; STYLE "Background work has one runner"): a `Job`
 * table in the app's own database, written in the transaction that causes the work, claimed with
 * `FOR UPDATE SKIP LOCKED` and a lease so that several instances never run one job at once, run
 * at least once with retries and backoff, and deduplicated forever by a key per (kind, subject).
 */

/** What can write a job: the Prisma client, or the interactive transaction of the job's cause. */
export type JobWriter = Pick<PrismaClient, "$executeRaw">;

export type NewJob = {
  kind: string;
  /** One job per key ever: the same cause enqueued twice (a redelivered webhook, a second instance) adds nothing. */
  dedupKey: string;
  payload: unknown;
  runAt?: Date;
};

/** Writes a job (in the caller's transaction when given one); false when its key was already taken. */
export async function enqueueJob(writer: JobWriter, job: NewJob): Promise<boolean> {
  const written = await writer.$executeRaw`
    INSERT INTO "Job" ("id", "kind", "dedupKey", "payload", "runAt")
    VALUES (${randomUUID()}, ${job.kind}, ${job.dedupKey}, ${JSON.stringify(job.payload)}::jsonb, ${job.runAt ?? new Date()})
    ON CONFLICT ("dedupKey") DO NOTHING`;
  return written > 0;
}

/** A job failed in a way retrying cannot fix (a refused address): it is set aside at once. */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

export type ClaimedJob = { id: string; kind: string; dedupKey: string; payload: unknown; attempts: number };
export type JobHandler = (payload: unknown, job: ClaimedJob) => Promise<void>;

/** A job enqueued by the runner itself once per period (its key holds the period), so one instance runs it. */
export type Schedule = { kind: string; period: "day" | "hour"; payload?: unknown };

export type JobRunnerOptions = {
  prisma: PrismaClient;
  handlers: Record<string, JobHandler>;
  schedules?: Schedule[];
  /** How often an idle runner looks for work; `wake()` looks at once. */
  pollMs?: number;
  /** How long a claimed job is an instance's own; past it (a crash), another instance runs it again. */
  leaseMs?: number;
  /** Jobs claimed at a time by one instance. */
  batchSize?: number;
  /** Attempts before a job is set aside as dead (kept for the operator, see docs/deployment.md). */
  maxAttempts?: number;
  /** The wait before attempt n+1, from n (1-based). */
  backoffMs?: (attempts: number) => number;
};

export const DEFAULT_MAX_ATTEMPTS = 12;
const SCHEDULE_CHECK_MS = 60_000;

/** 5 s, 10 s, 20 s … capped at 30 minutes: twelve attempts cover an SMTP outage of about three hours. */
export function exponentialBackoff(attempts: number): number {
  return Math.min(5_000 * 2 ** (attempts - 1), 30 * 60 * 1000);
}

export type JobRunner = {
  /** Starts polling; jobs enqueued before (a restart) are picked up. */
  start(): void;
  /** Looks for work now (after an enqueue, so a reset mail leaves within the request's second). */
  wake(): void;
  /** Claims and runs one batch; the number of jobs run. Tests and benchmarks drive the runner with it. */
  runOnce(): Promise<number>;
  /** Stops polling and waits for the jobs in hand. */
  stop(): Promise<void>;
};

type Row = { id: string; kind: string; dedupKey: string; payload: unknown; attempts: number };

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { prisma, handlers } = options;
  const pollMs = options.pollMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 20;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoffMs = options.backoffMs ?? exponentialBackoff;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  let again = false;

  let schedulesCheckedAt = 0;

  async function ensureSchedules(force: boolean): Promise<void> {
    // Once a minute is enough for daily and hourly work; not a statement per schedule on every poll.
    if (!force && Date.now() - schedulesCheckedAt < SCHEDULE_CHECK_MS) return;
    schedulesCheckedAt = Date.now();
    for (const schedule of options.schedules ?? []) {
      const period = new Date().toISOString().slice(0, schedule.period === "day" ? 10 : 13);
      await enqueueJob(prisma, { kind: schedule.kind, dedupKey: `schedule:${schedule.kind}:${period}`, payload: schedule.payload ?? {} });
    }
  }

  async function claim(): Promise<Row[]> {
    // One statement: the rows are locked while chosen (skipping those another instance is choosing) and leased as they are returned.
    // Times are this process's clock in UTC, as Prisma writes every DateTime (the columns have no time zone).
    const now = new Date();
    return prisma.$queryRaw<Row[]>`
      UPDATE "Job" SET "lockedUntil" = ${new Date(now.getTime() + leaseMs)}, "attempts" = "attempts" + 1
      WHERE "id" IN (
        SELECT "id" FROM "Job"
        WHERE "status" = 'pending' AND "runAt" <= ${now} AND ("lockedUntil" IS NULL OR "lockedUntil" < ${now})
        ORDER BY "runAt"
        LIMIT ${batchSize}
        FOR UPDATE SKIP LOCKED)
      RETURNING "id", "kind", "dedupKey", "payload", "attempts"`;
  }

  async function runJob(job: Row): Promise<void> {
    const handler = handlers[job.kind];
    try {
      if (!handler) throw new PermanentJobError("no-handler");
      await handler(job.payload, job);
      // Only the lease holder marks it done; the payload goes (a reset link must not outlive its mail).
      await prisma.$executeRaw`
        UPDATE "Job" SET "status" = 'done', "doneAt" = ${new Date()}, "payload" = NULL, "lockedUntil" = NULL, "lastError" = NULL
        WHERE "id" = ${job.id}`;
      logEvent("debug", "job.done", { kind: job.kind, attempts: job.attempts });
    } catch (error) {
      const reason = failureReason(error);
      const dead = error instanceof PermanentJobError || job.attempts >= maxAttempts;
      const runAt = new Date(Date.now() + backoffMs(job.attempts));
      await prisma.$executeRaw`
        UPDATE "Job" SET "status" = ${dead ? "dead" : "pending"}::"JobStatus", "runAt" = ${runAt}, "lockedUntil" = NULL, "lastError" = ${reason}
        WHERE "id" = ${job.id}`;
      logEvent(dead ? "error" : "warn", dead ? "job.dead" : "job.retry", { kind: job.kind, attempts: job.attempts, reason });
    }
  }

  async function runBatch(forceSchedules: boolean): Promise<number> {
    await ensureSchedules(forceSchedules);
    const jobs = await claim();
    await Promise.all(jobs.map(runJob));
    return jobs.length;
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
        return 0;
      })
      .then((count) => {
        running = undefined;
        if (stopped) return;
        // A full batch or a wake during the run: there may be more, look again at once.
        const next = count >= batchSize || again ? 0 : pollMs;
        again = false;
        timer = setTimeout(loop, next);
        timer.unref();
      });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    wake() {
      if (!stopped) loop();
    },
    runOnce: () => runBatch(true),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** A failure's kind for the log and the row: an error's name and code, never its message. */
function failureReason(error: unknown): string {
  if (error instanceof PermanentJobError) return error.reason;
  const code = (error as { code?: unknown; responseCode?: unknown }).responseCode ?? (error as { code?: unknown }).code;
  const name = error instanceof Error ? error.name : typeof error;
  return typeof code === "string" || typeof code === "number" ? `${name}:${code}` : name;
}
