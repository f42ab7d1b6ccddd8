-- AlterTable
ALTER TABLE "Subscription" ADD COLUMN     "endedAt" TIMESTAMP(3),
ADD COLUMN     "quantity" INTEGER,
ADD COLUMN     "trialEnd" TIMESTAMP(3);
