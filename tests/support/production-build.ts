import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * One production build (./build, as `npm run build` makes it) for every test that starts the app as an
 * operator does: the server, hostile, multi-instance and browser suites. It is made only when missing or
 * older than what it is built from, by one process at a time (the test files run in several workers).
 */
export const PROJECT_ROOT = resolve(import.meta.dirname, "../..");
export const BUILT_SERVER = join(PROJECT_ROOT, "build/server/index.js");

/** What the build is made of: a change here makes ./build stale (server/ runs from source, unbuilt). */
const SOURCES = ["app", "prisma/schema.prisma", "react-router.config.ts", "vite.config.ts", "package.json", "package-lock.json"];
const LOCK = join(PROJECT_ROOT, ".cache/production-build.lock");
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;

/** Makes ./build current and returns the server build's path. */
export function ensureProductionBuild(): string {
  if (isCurrent()) return BUILT_SERVER;
  mkdirSync(join(PROJECT_ROOT, ".cache"), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      // Another worker is building: wait for it, then use what it made.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    if (!isCurrent()) {
      execFileSync(process.execPath, [join(PROJECT_ROOT, "node_modules/@react-router/dev/bin.cjs"), "build"], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, REACT_ROUTER_BUILD_DIR: "" },
        stdio: ["ignore", "ignore", "inherit"],
      });
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
  return BUILT_SERVER;
}

function isCurrent(): boolean {
  return existsSync(BUILT_SERVER) && statSync(BUILT_SERVER).mtimeMs >= newestSource();
}

function newestSource(): number {
  let newest = 0;
  for (const source of SOURCES) {
    const path = join(PROJECT_ROOT, source);
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory()
      ? readdirSync(path, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile() && !entry.name.endsWith(".test.ts") && !entry.parentPath.includes("generated"))
          .map((entry) => join(entry.parentPath, entry.name))
      : [path];
    for (const file of files) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}
