-- AlterTable
ALTER TABLE "Subscription" ADD COLUMN     "hadTrial" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "pastDueSince" TIMESTAMP(3);

-- Existing rows: a subscription that shows a trial had one, a past-due one counts its grace from its last change.
UPDATE "Subscription" SET "hadTrial" = true WHERE "trialEnd" IS NOT NULL OR "status" = 'trialing';
UPDATE "Subscription" SET "pastDueSince" = "providerUpdatedAt" WHERE "status" = 'past_due';
