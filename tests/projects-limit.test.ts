import { afterAll, beforeAll, expect, test } from "vitest";
import type { Database } from "~/db/database.server.ts";
import { createProjects } from "~/entitlements/projects.server.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { createTestDatabase } from "./database.ts";

// SPEC "Entitlements": the project limit holds under concurrency, in the database (embedded here; on PostgreSQL
// in `npm run test:postgres`, where the creates run on separate connections at once).

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(() => database.close());

let n = 0;
async function owner(): Promise<string> {
  const user = await database.prisma.user.create({ data: { email: `projects-${++n}@example.test` } });
  return personalOrganizationId(user.id);
}

test("20 creates at once at a limit of 3 make exactly 3; the other 17 are told the limit", async () => {
  const projects = createProjects({ prisma: database.prisma });
  const ownerId = await owner();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => projects.create(ownerId, `Project ${i}`, 3)));
  expect(results.filter((result) => result.ok)).toHaveLength(3);
  expect(results.filter((result) => !result.ok)).toEqual(Array.from({ length: 17 }, () => ({ ok: false, reason: "limit-reached", limit: 3 })));
  expect(await projects.count(ownerId)).toBe(3);
});

test("another owner's limit is its own; after a downgrade existing projects stay and only new ones are refused", async () => {
  const projects = createProjects({ prisma: database.prisma });
  const [a, b] = [await owner(), await owner()];
  for (let i = 0; i < 3; i++) expect((await projects.create(a, `A${i}`, 50)).ok).toBe(true);
  expect((await projects.create(b, "B0", 1)).ok).toBe(true);
  // A downgraded to a limit of 1: its 3 stay, a fourth is refused.
  expect(await projects.create(a, "A3", 1)).toEqual({ ok: false, reason: "limit-reached", limit: 1 });
  expect(await projects.count(a)).toBe(3);
  // Deleting needs the project to be the owner's own.
  const [first] = await projects.list(a);
  expect(await projects.remove(b, first!.id)).toBe(false);
  expect(await projects.count(a)).toBe(3);
  expect(await projects.remove(a, first!.id)).toBe(true);
  expect(await projects.count(a)).toBe(2);
});
