-- Organisations become the billing owner (issue 17, ADR 028). Every existing user gets a personal
-- organisation (owner), their customers, subscriptions and billing activity move to it, each session
-- acts for it. Written to be idempotent: run a second time (a restored ledger, a hand re-run) it
-- changes nothing. Personal organisations take a deterministic id ('personal_' || user id), so the
-- move can find them again without a lookup table.

-- CreateEnum
DO $move$ BEGIN
  CREATE TYPE "MembershipRole" AS ENUM ('owner', 'admin', 'member');
EXCEPTION WHEN duplicate_object THEN NULL;
END $move$;

-- CreateTable
CREATE TABLE IF NOT EXISTS "Organization" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "personal" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE IF NOT EXISTS "Membership" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "role" "MembershipRole" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Membership_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE IF NOT EXISTS "Invitation" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "role" "MembershipRole" NOT NULL,
    "invitedById" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "acceptedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Invitation_pkey" PRIMARY KEY ("id")
);

CREATE INDEX IF NOT EXISTS "Membership_userId_idx" ON "Membership"("userId");
CREATE UNIQUE INDEX IF NOT EXISTS "Membership_organizationId_userId_key" ON "Membership"("organizationId", "userId");
CREATE UNIQUE INDEX IF NOT EXISTS "Invitation_tokenHash_key" ON "Invitation"("tokenHash");
CREATE INDEX IF NOT EXISTS "Invitation_organizationId_idx" ON "Invitation"("organizationId");

-- Every user has a personal organisation, kept by the database itself: a user's row brings its personal
-- organisation (and the owner's membership) with it, whoever inserts it (signup, the demo seed, a test, a
-- support script), and takes it away when deleted. Its id is 'personal_' || the user's id.
CREATE OR REPLACE FUNCTION "personal_organization_of_user"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "Organization" ("id", "name", "personal", "createdAt")
    VALUES ('personal_' || NEW."id", 'Personal', true, NEW."createdAt")
    ON CONFLICT ("id") DO NOTHING;
    INSERT INTO "Membership" ("id", "organizationId", "userId", "role", "createdAt")
    VALUES ('personal_' || NEW."id", 'personal_' || NEW."id", NEW."id", 'owner', NEW."createdAt")
    ON CONFLICT DO NOTHING;
    RETURN NEW;
  END IF;
  DELETE FROM "Organization" WHERE "id" = 'personal_' || OLD."id" AND "personal";
  RETURN OLD;
END
$fn$;

DROP TRIGGER IF EXISTS "User_personal_organization_insert" ON "User";
CREATE TRIGGER "User_personal_organization_insert" AFTER INSERT ON "User"
  FOR EACH ROW EXECUTE FUNCTION "personal_organization_of_user"();
DROP TRIGGER IF EXISTS "User_personal_organization_delete" ON "User";
CREATE TRIGGER "User_personal_organization_delete" AFTER DELETE ON "User"
  FOR EACH ROW EXECUTE FUNCTION "personal_organization_of_user"();

-- Every existing user without a personal organisation gets one, and owns it.
INSERT INTO "Organization" ("id", "name", "personal", "createdAt")
SELECT 'personal_' || u."id", 'Personal', true, u."createdAt"
FROM "User" u
WHERE NOT EXISTS (
  SELECT 1 FROM "Membership" m JOIN "Organization" o ON o."id" = m."organizationId"
  WHERE m."userId" = u."id" AND o."personal"
)
ON CONFLICT ("id") DO NOTHING;

INSERT INTO "Membership" ("id", "organizationId", "userId", "role", "createdAt")
SELECT 'personal_' || u."id", 'personal_' || u."id", u."id", 'owner', u."createdAt"
FROM "User" u
JOIN "Organization" o ON o."id" = 'personal_' || u."id"
ON CONFLICT DO NOTHING;

-- The session's current organisation.
ALTER TABLE "Session" ADD COLUMN IF NOT EXISTS "currentOrganizationId" TEXT;
UPDATE "Session" s SET "currentOrganizationId" = 'personal_' || s."userId"
WHERE s."currentOrganizationId" IS NULL AND EXISTS (SELECT 1 FROM "Organization" o WHERE o."id" = 'personal_' || s."userId");

-- Customers, subscriptions and billing activity move from the user to the user's personal organisation.
ALTER TABLE "Customer" ADD COLUMN IF NOT EXISTS "organizationId" TEXT;
ALTER TABLE "Subscription" ADD COLUMN IF NOT EXISTS "organizationId" TEXT;
ALTER TABLE "BillingActivity" ADD COLUMN IF NOT EXISTS "organizationId" TEXT;

DO $move$
DECLARE
  owned TEXT;
BEGIN
  FOREACH owned IN ARRAY ARRAY['Customer', 'Subscription', 'BillingActivity'] LOOP
    IF EXISTS (
      SELECT 1 FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = owned AND column_name = 'userId'
    ) THEN
      EXECUTE format(
        'UPDATE %I SET "organizationId" = ''personal_'' || "userId" WHERE "organizationId" IS NULL',
        owned
      );
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', owned, owned || '_userId_fkey');
      EXECUTE format('ALTER TABLE %I DROP COLUMN "userId"', owned);
    END IF;
  END LOOP;
END $move$;

ALTER TABLE "Customer" ALTER COLUMN "organizationId" SET NOT NULL;
ALTER TABLE "Subscription" ALTER COLUMN "organizationId" SET NOT NULL;
ALTER TABLE "BillingActivity" ALTER COLUMN "organizationId" SET NOT NULL;

-- Dropping the columns dropped their indexes, these replace them.
DROP INDEX IF EXISTS "BillingActivity_userId_createdAt_idx";
DROP INDEX IF EXISTS "Customer_userId_provider_key";
DROP INDEX IF EXISTS "Subscription_userId_idx";
CREATE INDEX IF NOT EXISTS "BillingActivity_organizationId_createdAt_idx" ON "BillingActivity"("organizationId", "createdAt");
CREATE UNIQUE INDEX IF NOT EXISTS "Customer_organizationId_provider_key" ON "Customer"("organizationId", "provider");
CREATE INDEX IF NOT EXISTS "Subscription_organizationId_idx" ON "Subscription"("organizationId");

-- AddForeignKey (each once)
DO $move$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Membership_organizationId_fkey') THEN
    ALTER TABLE "Membership" ADD CONSTRAINT "Membership_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Membership_userId_fkey') THEN
    ALTER TABLE "Membership" ADD CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Invitation_organizationId_fkey') THEN
    ALTER TABLE "Invitation" ADD CONSTRAINT "Invitation_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Invitation_invitedById_fkey') THEN
    ALTER TABLE "Invitation" ADD CONSTRAINT "Invitation_invitedById_fkey" FOREIGN KEY ("invitedById") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Session_currentOrganizationId_fkey') THEN
    ALTER TABLE "Session" ADD CONSTRAINT "Session_currentOrganizationId_fkey" FOREIGN KEY ("currentOrganizationId") REFERENCES "Organization"("id") ON DELETE SET NULL ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Customer_organizationId_fkey') THEN
    ALTER TABLE "Customer" ADD CONSTRAINT "Customer_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Subscription_organizationId_fkey') THEN
    ALTER TABLE "Subscription" ADD CONSTRAINT "Subscription_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'BillingActivity_organizationId_fkey') THEN
    ALTER TABLE "BillingActivity" ADD CONSTRAINT "BillingActivity_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
  END IF;
END $move$;
