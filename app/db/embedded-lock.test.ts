import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { once } from "node:events";
import { afterEach, describe, expect, test } from "vitest";
import { EmbeddedDatabaseLockedError, LOCK_FILE_NAME, lockDataDir } from "~/db/embedded-lock.server.ts";

const lockModule = path.resolve("app/db/embedded-lock.server.ts");
const children: ChildProcess[] = [];
const folders: string[] = [];

function newDataDir(): string {
  const folder = mkdtempSync(path.join(tmpdir(), "embedded-lock-"));
  folders.push(folder);
  return folder;
}

/** Another real process that takes the lock, says so on stdout, and then waits to be killed. */
async function spawnLockHolder(dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `import { lockDataDir } from ${JSON.stringify(lockModule)};
       lockDataDir(${JSON.stringify(dataDir)});
       console.log("locked");
       setInterval(() => {}, 60_000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const [firstOutput] = (await once(child.stdout!, "data")) as [Buffer];
  expect(firstOutput.toString()).toContain("locked");
  return child;
}

/** Runs a child that tries to take the lock and reports the outcome. */
async function tryLockInChild(dataDir: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `import { lockDataDir } from ${JSON.stringify(lockModule)};
       try { lockDataDir(${JSON.stringify(dataDir)}); console.log("locked"); }
       catch (error) { console.log(error.name + ": " + error.message); process.exitCode = 3; }`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe("embedded data folder lock", () => {
  test("a second process is refused at once, with the folder, the holder's pid and what to do", async () => {
    const dataDir = newDataDir();
    const holder = await spawnLockHolder(dataDir);

    const startedAt = performance.now();
    let refusal: unknown;
    try {
      lockDataDir(dataDir);
    } catch (error) {
      refusal = error;
    }
    expect(performance.now() - startedAt).toBeLessThan(100);
    expect(refusal).toBeInstanceOf(EmbeddedDatabaseLockedError);
    const message = (refusal as Error).message;
    expect(message).toContain(dataDir);
    expect(message).toContain(String(holder.pid));
    expect(message).toMatch(/stop that process/);
    expect(message).toMatch(/DATA_DIR/);
    expect(message).toMatch(/DATABASE_URL/);
  });

  test("a process started while this one holds the lock is refused too", async () => {
    const dataDir = newDataDir();
    const lock = lockDataDir(dataDir);
    try {
      const { code, output } = await tryLockInChild(dataDir);
      expect(code).toBe(3);
      expect(output).toContain(`EmbeddedDatabaseLockedError: The embedded database in ${dataDir} is already open in process ${process.pid}`);
    } finally {
      lock.release();
    }
  });

  test("the lock of a killed process is taken over", async () => {
    const dataDir = newDataDir();
    const holder = await spawnLockHolder(dataDir);
    holder.kill("SIGKILL");
    await once(holder, "exit");
    expect(readFileSync(path.join(dataDir, LOCK_FILE_NAME), "utf8")).toBe(String(holder.pid));

    const lock = lockDataDir(dataDir);
    expect(readFileSync(path.join(dataDir, LOCK_FILE_NAME), "utf8")).toBe(String(process.pid));
    lock.release();
  });

  test("a lock file with no readable pid does not block", () => {
    const dataDir = newDataDir();
    writeFileSync(path.join(dataDir, LOCK_FILE_NAME), "not a pid");
    const lock = lockDataDir(dataDir);
    expect(readFileSync(path.join(dataDir, LOCK_FILE_NAME), "utf8")).toBe(String(process.pid));
    lock.release();
  });

  test("a process that exits without closing leaves the folder free", async () => {
    const dataDir = newDataDir();
    const { code, output } = await tryLockInChild(dataDir);
    expect(code).toBe(0);
    expect(output).toContain("locked");
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);
    lockDataDir(dataDir).release();
  });

  test("release frees the folder for the next owner, and the same process cannot take it twice", () => {
    const dataDir = newDataDir();
    const first = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(EmbeddedDatabaseLockedError);
    first.release();
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);
    lockDataDir(dataDir).release();
  });

  test("a lock left by an earlier process that had this process's pid is taken over", () => {
    const dataDir = newDataDir();
    writeFileSync(path.join(dataDir, LOCK_FILE_NAME), String(process.pid));
    const lock = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(EmbeddedDatabaseLockedError);
    lock.release();
  });

  test("the data folder is created when missing", () => {
    const dataDir = path.join(newDataDir(), "nested", "data");
    const lock = lockDataDir(dataDir);
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(true);
    lock.release();
  });
});
