// Run before an e2e app starts (playwright.config.ts): its data folder, a copy of the suite's migrated
// template (tests/support/embedded-template.ts), and in it the user that the provider-failure tests sign in as. The app caches Lemon Squeezy portal links per customer, so a
// failure test needs a customer whose link no successful test ever fetches; for the other providers
// (no cache) that user is the demo customer. Usage: DATA_DIR=… PAYMENT_PROVIDER=… tsx e2e/prepare-app-data.ts
import { DEFAULT_SCRYPT_PARAMS, hashPassword, LOW_COST_SCRYPT_PARAMS } from "~/auth/password.server.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { openDatabase } from "~/db/database.server.ts";
import { DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { prepareEmbeddedDataDir } from "../tests/support/embedded-template.ts";
import { FAILURE_TEST_CUSTOMERS } from "./failure-test-customers.ts";

const provider = process.env.PAYMENT_PROVIDER as ProviderId;
const dataDir = process.env.DATA_DIR;
if (!PROVIDER_IDS.includes(provider) || !dataDir) throw new Error("Set PAYMENT_PROVIDER and DATA_DIR.");

await prepareEmbeddedDataDir(dataDir);
const customer = FAILURE_TEST_CUSTOMERS[provider];
if (customer) {
  const database = await openDatabase({ kind: "embedded", dataDir });
  try {
    const user = await database.prisma.user.create({
      data: {
        email: customer.email,
        password: { create: { hash: await hashPassword(DEMO_PASSWORD, process.env.PASSWORD_HASH_COST === "low" ? LOW_COST_SCRYPT_PARAMS : DEFAULT_SCRYPT_PARAMS) } },
      },
      select: { id: true },
    });
    // The billing owner is the user's personal organisation, made by the database with the user (ADR 028).
    await database.prisma.customer.create({
      data: { organizationId: personalOrganizationId(user.id), provider, providerCustomerId: customer.providerCustomerId },
    });
  } finally {
    await database.close();
  }
}
