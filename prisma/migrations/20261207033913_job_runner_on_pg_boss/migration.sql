-- ADR 027: the job runner moves onto pg-boss (its own schema, installed at start). What stays ours is the
-- dedup record, one row per (kind, subject) ever.

-- CreateTable
CREATE TABLE "JobKey" (
    "dedupKey" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "jobId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JobKey_pkey" PRIMARY KEY ("dedupKey")
);

-- Keys already used keep their cause from running again (a mail sent under the old table stays sent).
INSERT INTO "JobKey" ("dedupKey", "kind", "createdAt") SELECT "dedupKey", "kind", "createdAt" FROM "Job";

-- DropTable
DROP TABLE "Job";

-- DropEnum
DROP TYPE "JobStatus";
