import type { Database } from "~/db/database.server.ts";
import { JOB_SCHEMA } from "~/jobs/job-schema.server.ts";

/** One pg-boss job as a test sees it (ADR 027): its state, attempts so far, the failure recorded, its data. */
export type JobRow = { kind: string; state: string; retryCount: number; output: unknown; data: unknown; startAfter: Date };

/** The jobs pg-boss holds (of one kind, or all), oldest first. */
export async function jobRows(database: Database, kind?: string): Promise<JobRow[]> {
  return database.read<JobRow>(
    `SELECT name AS kind, state::text AS state, retry_count AS "retryCount", output, data, start_after AS "startAfter"
     FROM ${JOB_SCHEMA}.job WHERE ($1::text IS NULL OR name = $1) ORDER BY created_on`,
    [kind ?? null],
  );
}

/** Forgets every job and dedup key (between tests on one database). */
export async function clearJobs(database: Database, kind?: string): Promise<void> {
  await database.read(`DELETE FROM ${JOB_SCHEMA}.job WHERE ($1::text IS NULL OR name = $1)`, [kind ?? null]);
  await database.read(`DELETE FROM "JobKey" WHERE ($1::text IS NULL OR kind = $1)`, [kind ?? null]);
}
