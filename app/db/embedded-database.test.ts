import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { openDatabase } from "~/db/database.server.ts";
import { EmbeddedDatabaseLockedError, LOCK_FILE_NAME } from "~/db/embedded-lock.server.ts";
import { FailedMigrationError } from "~/db/migrations.server.ts";
import { emptyEmbeddedDataDir } from "../../tests/database.ts";

/**
 * The embedded database itself (a data folder, its lock, its thread): the same whichever server TEST_DATABASE_URL
 * names, so, as every `embedded-*.test.ts`, it runs in the embedded pass only (vitest.config.ts).
 */
const folders: string[] = [];
function newFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
}
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe("embedded database in a data folder", () => {
  test("keeps its data across restarts and migrates only once", async () => {
    const dataDir = path.join(newFolder("embedded-db-"), "data");
    const first = await openDatabase({ kind: "embedded", dataDir, initialData: await emptyEmbeddedDataDir() });
    expect(first.appliedMigrations.length).toBeGreaterThan(0);
    await first.prisma.user.create({ data: { email: "kept@example.test" } });

    // Opened while the first is open, even from this process: refused before touching the files.
    await expect(openDatabase({ kind: "embedded", dataDir })).rejects.toBeInstanceOf(EmbeddedDatabaseLockedError);

    await first.close();
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);

    const reopened = await openDatabase({ kind: "embedded", dataDir });
    try {
      expect(reopened.appliedMigrations).toEqual([]);
      expect(await reopened.prisma.user.findMany({ select: { email: true } })).toEqual([{ email: "kept@example.test" }]);
    } finally {
      await reopened.close();
    }
  }, 30_000);

  test("a new folder is created (in a process of its own) with the embedded settings, and opened", async () => {
    const dataDir = path.join(newFolder("embedded-db-"), "data");
    const database = await openDatabase({ kind: "embedded", dataDir });
    try {
      expect(existsSync(path.join(dataDir, "PG_VERSION"))).toBe(true);
      expect(database.appliedMigrations.length).toBeGreaterThan(0);
      const settings = await database.prisma.$queryRaw<{ shared_buffers: string }[]>`SHOW shared_buffers`;
      expect(settings).toEqual([{ shared_buffers: "8MB" }]);
    } finally {
      await database.close();
    }
  }, 60_000);

  test("a folder that cannot be made into a database says so, and releases the folder", async () => {
    const dataDir = path.join(newFolder("embedded-db-"), "data");
    mkdirSync(dataDir);
    // Where initdb must write a folder, a file.
    writeFileSync(path.join(dataDir, "base"), "not a folder");
    await expect(openDatabase({ kind: "embedded", dataDir })).rejects.toThrow(`Cannot create the embedded database in ${dataDir}`);
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);
  }, 60_000);

  test("a start stopped by a failed migration releases the folder", async () => {
    const dataDir = path.join(newFolder("embedded-db-"), "data");
    const migrationsDir = newFolder("migrations-");
    cpSync(path.resolve("prisma/migrations"), migrationsDir, { recursive: true });
    mkdirSync(path.join(migrationsDir, "29990101000000_broken"));
    writeFileSync(path.join(migrationsDir, "29990101000000_broken", "migration.sql"), "SELECT * FROM nowhere;");

    await expect(
      openDatabase({ kind: "embedded", dataDir, initialData: await emptyEmbeddedDataDir() }, { migrationsDir }),
    ).rejects.toBeInstanceOf(FailedMigrationError);
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);
  }, 30_000);
});

describe("embedded database off the main thread (ADR 015)", () => {
  test("a slow statement does not stop the app's thread: its timers fire while the statement runs", async () => {
    const database = await openDatabase({ kind: "embedded", dataDir: "memory://", initialData: await emptyEmbeddedDataDir() });
    try {
      const started = performance.now();
      const slow = database.read("SELECT pg_sleep(1)", []);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const timerFiredAfter = performance.now() - started;
      await slow;
      expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
      expect(timerFiredAfter).toBeLessThan(500);
    } finally {
      await database.close();
    }
  });
});
