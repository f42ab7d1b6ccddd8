import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Inside the data folder, so moving or deleting the folder takes its lock along. */
export const LOCK_FILE_NAME = "app.lock";

export class EmbeddedDatabaseLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `The embedded database in ${dataDir} is already open in process ${holderPid}: stop that process, or give this one another DATA_DIR (or a DATABASE_URL).`,
    );
    this.name = "EmbeddedDatabaseLockedError";
  }
}

/** Folders this process holds, to tell a second open here from a lock left by an earlier process with our pid (container restarts reuse pids). */
const foldersHeldHere = new Set<string>();

export interface EmbeddedDatabaseLock {
  release(): void;
}

/**
 * Takes the data folder for this process alone, at once or not at all: PGlite has no lock
 * of its own, and two processes writing one folder silently lose data.
 */
export function lockDataDir(dataDir: string): EmbeddedDatabaseLock {
  const folder = path.resolve(dataDir);
  mkdirSync(folder, { recursive: true });
  const lockFile = path.join(folder, LOCK_FILE_NAME);

  createLockFile(lockFile, folder);
  foldersHeldHere.add(folder);
  const releaseOnExit = () => rmSync(lockFile, { force: true });
  process.once("exit", releaseOnExit);

  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      foldersHeldHere.delete(folder);
      process.off("exit", releaseOnExit);
      if (readHolderPid(lockFile) === process.pid) rmSync(lockFile, { force: true });
    },
  };
}

function createLockFile(lockFile: string, folder: string): void {
  // Written aside then hard-linked into place: the lock never exists without its pid inside.
  const ownPidFile = `${lockFile}.${process.pid}`;
  writeFileSync(ownPidFile, String(process.pid));
  try {
    // Two attempts: the second one follows the removal of a lock left by a dead process.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(ownPidFile, lockFile);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holderPid = readHolderPid(lockFile);
      if (holderPid !== undefined && isHeld(holderPid, folder)) throw new EmbeddedDatabaseLockedError(folder, holderPid);
      removeStaleLock(lockFile, holderPid);
    }
    throw new EmbeddedDatabaseLockedError(folder, readHolderPid(lockFile) ?? 0);
  } finally {
    rmSync(ownPidFile, { force: true });
  }
}

/** Removes the lock only if it is still the dead holder's: two processes may race to take it over. */
function removeStaleLock(lockFile: string, deadPid: number | undefined): void {
  const aside = `${lockFile}.stale.${process.pid}`;
  try {
    renameSync(lockFile, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (readHolderPid(aside) !== deadPid) {
    // Another process took the lock over in between: put its lock back.
    try {
      linkSync(aside, lockFile);
    } catch {
      // A third process holds it by now: it is theirs either way.
    }
  }
  rmSync(aside, { force: true });
}

function readHolderPid(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isHeld(holderPid: number, folder: string): boolean {
  return holderPid === process.pid ? foldersHeldHere.has(folder) : isAlive(holderPid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
