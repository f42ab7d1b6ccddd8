import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";


/** Every test file under these folders, with its source (the selections below are read from the files themselves). */
function testFiles(folders: string[]): { file: string; source: string }[] {
  return folders.flatMap((folder) =>
    readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".test.ts"))
      .map((entry) => join(entry.parentPath, entry.name))
      .map((file) => ({ file, source: readFileSync(file, "utf8") })),
  );
}

/**
 * Files that replace a module with `vi.mock`: they run each in a module graph of its own (Vitest's isolation).
 * Every other file shares its worker's loaded modules with the files before it (`isolate: false`): loading the
 * app's graph (Prisma's client, three SDKs, React Router) again for each of ~80 files was a third of the unit
 * pass's CPU (ADR 026). What each file starts (databases, emulators, servers) it still starts and stops itself.
 */
const MOCKS_MODULES = /\bvi\.mock\(/;

/**
 * The test files that touch the database through the suite's helpers (a test database, the app's services, an
 * opened database) or that need a PostgreSQL server: what the `postgres` projects run again on one. Found from
 * the files themselves, so a new database test is in that pass without a list to keep. Left out: server/ (its tests
 * start the built app on its embedded database, and its PostgreSQL checks run in the first pass) and every
 * `embedded-*.test.ts`, whose subject is the embedded database itself (a data folder, its lock, its thread): run
 * again beside a server they would only repeat themselves, initdb included.
 */
const TOUCHES_DATABASE = /createTestDatabase\(|startServices\(|openDatabase\(|process\.env\.TEST_DATABASE_URL/;

const unitFiles = testFiles(["app", "emulator", "tests", "scripts", "server"]).filter(({ file }) => !file.startsWith("tests/hostile/"));
const EMBEDDED_ONLY = /(^|\/)embedded-[^/]*\.test\.ts$/;
const databaseFiles = unitFiles.filter(
  ({ file, source }) => !file.startsWith("server/") && !EMBEDDED_ONLY.test(file) && TOUCHES_DATABASE.test(source),
);
const names = (files: { file: string }[]) => files.map(({ file }) => file);
const mocking = (files: { file: string; source: string }[]) => names(files.filter(({ source }) => MOCKS_MODULES.test(source)));
const shared = (files: { file: string; source: string }[]) => names(files.filter(({ source }) => !MOCKS_MODULES.test(source)));

// Kept apart from vite.config.ts so unit tests do not load the React Router plugin.
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    environment: "node",
    projects: [
      ...[
        { name: "unit", include: shared(unitFiles), isolate: false },
        { name: "unit-isolated", include: mocking(unitFiles), isolate: true },
      ].map((selection) => ({
        extends: true,
        test: {
          ...selection,
          // WebAssembly on V8's baseline compiler only, as the embedded database runs in a deployment (ADR 019):
          // each test database's PGlite costs half the CPU it does with the optimising tier.
          execArgv: ["--liftoff-only"],
          // Many tests open databases or start the app: on two busy cores 5 s is too tight to tell a hang from a
          // slow moment. A bound for hangs, not a performance goal.
          testTimeout: 30_000,
          // Hooks start services and databases as the tests do: the same bound.
          hookTimeout: 30_000,
          // Most files wait on a database thread, an emulator or a server process more than they compute: two at
          // a time on two cores (Vitest's default there is one).
          maxWorkers: 2,
        },
      })),
      // The database tests again, each on a new database of the PostgreSQL server at TEST_DATABASE_URL
      // (`npm run test:postgres`), with the multi-instance suite, which needs one.
      ...[
        { name: "postgres", include: shared(databaseFiles), isolate: false },
        { name: "postgres-isolated", include: mocking(databaseFiles), isolate: true },
      ].map((selection) => ({
        extends: true,
        test: {
          ...selection,
          execArgv: ["--liftoff-only"],
          maxWorkers: 2,
          testTimeout: 30_000,
          hookTimeout: 30_000,
          globalSetup: ["tests/support/require-postgres.ts"],
        },
      })),
      {
        // The built app started as an operator starts it, then fed hostile requests (docs/reliability.md).
        // Its setup (a build when ./build is missing or older than app/) runs only when these files are selected.
        extends: true,
        test: {
          name: "hostile",
          include: ["tests/hostile/**/*.test.ts"],
          globalSetup: ["tests/hostile/global-setup.ts"],
          hookTimeout: 90_000,
          // A bound for hangs: some tests start or stop an app, or open its database afterwards.
          testTimeout: 30_000,
          // Each file starts its own app and mostly waits on it: two files at a time even on two cores
          // (Vitest's default there is one).
          maxWorkers: 2,
        },
      },
    ],
  },
});
