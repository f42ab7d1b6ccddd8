import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { openCheckout, pay } from "../emulator/lifecycle-test-kit.ts";
import { findPlan } from "../emulator/plans.ts";
import { createTestDatabase } from "./database.ts";

// The app as it starts (start-services): the organisation service's membership hook is the seat job, the job
// runner runs it, and the active provider's module (in its policy) changes the count at the provider. Nothing
// here is wired by the test.

const APP = "http://app.test";
let services: Services;

beforeAll(async () => {
  const config = parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: "stripe", PAYMENT_EMULATOR: "1", RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0" });
  services = await startServices(config, { database: await createTestDatabase(), startJobs: false });
}, 60_000);
afterAll(() => services?.stop());

test("an invitation accepted in the running app changes the seat count at the active provider", async () => {
  const prisma = services.database.prisma;
  const emulator = services.emulator!;
  const [owner, colleague] = await Promise.all(
    ["owner", "colleague"].map((name) => prisma.user.create({ data: { email: `${name}-${Date.now()}@wiring.test` } })),
  );
  const created = await services.organizations.create(owner!.id, "no-session", { name: "Acme" });
  if (!created.ok) throw new Error("the organisation was refused");
  const organizationId = created.value.id;

  // A Team subscription of one seat at the emulated Stripe, and our row for it (as its webhook would have written).
  await pay(await openCheckout(emulator, "stripe", organizationId, findPlan("team")!));
  const bought = emulator.lifecycle.summaries("stripe").find((summary) => summary.metadata.user_id === organizationId)!;
  await prisma.subscription.create({
    data: {
      organizationId,
      provider: "stripe",
      providerSubscriptionId: bought.id,
      providerCustomerId: bought.customerId,
      plan: "team",
      status: "active",
      quantity: 1,
      providerUpdatedAt: new Date(Date.now() - 60_000),
    },
  });

  const invited = await services.organizations.invite(owner!.id, organizationId, { email: colleague!.email, role: "member" });
  if (!invited.ok) throw new Error("the invitation was refused");
  expect(await services.organizations.accept(new URL(invited.value.url).pathname.split("/").at(-1), colleague!, "no-session")).toMatchObject({ ok: true });

  await vi.waitFor(
    async () => {
      await services.jobs.runOnce();
      expect(emulator.lifecycle.summaries("stripe").find((summary) => summary.id === bought.id)?.quantity).toBe(2);
    },
    { timeout: 15_000, interval: 100 },
  );
  expect(await prisma.billingActivity.findMany({ where: { organizationId }, select: { outcome: true } })).toContainEqual({ outcome: "seats_changed:1-2" });
});
