-- CreateEnum
CREATE TYPE "BillingActivityAction" AS ENUM ('portal_open', 'checkout_start', 'subscription_change');

-- CreateTable
CREATE TABLE "BillingActivity" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "provider" "PaymentProvider" NOT NULL,
    "action" "BillingActivityAction" NOT NULL,
    "intent" TEXT,
    "outcome" TEXT NOT NULL,
    "latencyMs" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BillingActivity_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BillingActivity_userId_createdAt_idx" ON "BillingActivity"("userId", "createdAt");

-- CreateIndex
CREATE INDEX "BillingActivity_createdAt_idx" ON "BillingActivity"("createdAt");

-- AddForeignKey
ALTER TABLE "BillingActivity" ADD CONSTRAINT "BillingActivity_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
