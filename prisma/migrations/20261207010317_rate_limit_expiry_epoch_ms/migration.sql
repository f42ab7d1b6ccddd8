-- Counters are kept by rate-limiter-flexible's PostgreSQL store, which writes the expiry as epoch
-- milliseconds. Counters are short-lived: the old ones are dropped rather than converted.
DELETE FROM "RateLimit";

-- AlterTable
ALTER TABLE "RateLimit" DROP COLUMN "expire",
ADD COLUMN     "expire" BIGINT;

-- CreateIndex
CREATE INDEX "RateLimit_expire_idx" ON "RateLimit"("expire");
