-- ADR 027: the reconciler runs on the job runner (a pg-boss singleton per interval). Its lease row goes.
-- DropTable
DROP TABLE "JobLease";
