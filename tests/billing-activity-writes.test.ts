import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { createBillingActivity, type BillingActivityEntry } from "~/billing/activity.server.ts";
import { parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { startServices } from "~/start-services.server.ts";
import { captureLog } from "./support/log-capture.ts";
import { createTestDatabase } from "./database.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// The billing activity is written behind (ADR 017): a click waits for no insert, entries go in
// as one statement per flush, a user sees their own entries at once, and nothing queued is lost
// at a graceful stop or to one row the database refuses.

const statements: string[] = [];
let database: Database;
let userA: string;
let userB: string;
const stops: (() => unknown)[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (sql) => statements.push(sql) });
  userA = (await database.prisma.user.create({ data: { email: "activity-a@test.example" } })).id;
  userB = (await database.prisma.user.create({ data: { email: "activity-b@test.example" } })).id;
}, 60_000);
afterAll(() => database?.close());
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
  await database.prisma.billingActivity.deleteMany({});
});

const open = (userId: string, intent = "manage"): BillingActivityEntry => ({
  organizationId: personalOrganizationId(userId),
  provider: "stripe",
  action: "portal_open",
  intent,
  outcome: "success",
  latencyMs: 12,
});

const inserts = () => statements.filter((sql) => /INSERT INTO (?:"public"\.)?"BillingActivity"/.test(sql));

test("recording answers before any insert; the entry reaches the table on the next flush by itself", async () => {
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 90, flushIntervalMs: 50 });
  stops.push(activity.flush);
  const before = inserts().length;
  await activity.record(open(userA));
  expect(inserts().length).toBe(before);
  expect(await database.prisma.billingActivity.count()).toBe(0);

  const deadline = Date.now() + 5_000;
  while ((await database.prisma.billingActivity.count()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(await database.prisma.billingActivity.count()).toBe(1);
});

test("many entries go in as one statement, in the order they were recorded", async () => {
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 90, flushIntervalMs: 60_000 });
  const before = inserts().length;
  const intents = ["manage", "payment_method", "cancel", "change_plan"];
  for (let i = 0; i < 40; i++) await activity.record(open(userA, intents[i % 4]));
  await activity.flush();
  expect(inserts().length - before).toBe(1);
  const newestFirst = await activity.recent(personalOrganizationId(userA), 40);
  expect(newestFirst.map((row) => row.intent).toReversed()).toEqual(Array.from({ length: 40 }, (_, i) => intents[i % 4]));
});

test("a full batch goes in without waiting for the interval", async () => {
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 90, flushIntervalMs: 60_000, batchSize: 5 });
  stops.push(activity.flush);
  for (let i = 0; i < 5; i++) await activity.record(open(userA));
  const deadline = Date.now() + 5_000;
  while ((await database.prisma.billingActivity.count()) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(await database.prisma.billingActivity.count()).toBe(5);
});

test("a user sees the entry of the click they just made", async () => {
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 90, flushIntervalMs: 60_000 });
  await activity.record(open(userB, "cancel"));
  expect((await activity.recent(personalOrganizationId(userB))).map((row) => row.intent)).toEqual(["cancel"]);
});

test("a row the database refuses (its user just deleted) does not take the batch with it", async () => {
  const log = captureLog();
  stops.push(log.restore);
  const gone = (await database.prisma.user.create({ data: { email: "activity-gone@test.example" } })).id;
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 90, flushIntervalMs: 60_000 });
  await activity.record(open(userA, "manage"));
  await activity.record(open(gone, "cancel"));
  await activity.record(open(userB, "payment_method"));
  await database.prisma.user.delete({ where: { id: gone } });
  await activity.flush();

  const rows = await database.prisma.billingActivity.findMany({ select: { organizationId: true, intent: true } });
  expect(rows).toHaveLength(2);
  expect(rows).toEqual(expect.arrayContaining([{ organizationId: personalOrganizationId(userA), intent: "manage" }, { organizationId: personalOrganizationId(userB), intent: "payment_method" }]));
  const lost = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === "billing.activity.not_recorded");
  expect(lost).toEqual([expect.objectContaining({ entries: 1 })]);
});

test("beyond its bound the queue drops entries, and says so, rather than grow without end", async () => {
  const log = captureLog();
  stops.push(log.restore);
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 90, flushIntervalMs: 60_000, maxQueued: 3 });
  for (let i = 0; i < 5; i++) await activity.record(open(userA));
  await activity.flush();
  expect(await database.prisma.billingActivity.count()).toBe(3);
  const dropped = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.errorName === "QueueFull");
  expect(dropped).toHaveLength(2);
});

test("stopping the services writes what is still queued before the database closes", async () => {
  const own = await createTestDatabase();
  const close = own.close.bind(own);
  let rowsAtClose = -1;
  own.close = async () => {
    rowsAtClose = await own.prisma.billingActivity.count();
    await close();
  };
  const config = parseConfig({ APP_ENV: "test", APP_URL: "http://app.test", PAYMENT_PROVIDER: "stripe", PAYMENT_EMULATOR: "1" });
  const services = await startServices(config, { database: own });
  const user = await own.prisma.user.findFirstOrThrow();
  await services.activity.record(open(user.id));
  await services.stop();
  expect(rowsAtClose).toBe(1);
}, 60_000);

test("an entry keeps the instant it was recorded at, to the millisecond, whatever the process's time zone", async () => {
  const at = new Date("2026-03-29T01:30:00.123Z");
  const activity = createBillingActivity({ prisma: database.prisma, read: database.read, retentionDays: 100_000, flushIntervalMs: 60_000, now: () => at });
  await activity.record(open(userB));
  const [entry] = await activity.recent(personalOrganizationId(userB), 1);
  expect(entry?.createdAt.toISOString()).toBe(at.toISOString());
});
