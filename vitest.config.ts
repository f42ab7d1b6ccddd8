import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

const UNIT_TESTS = ["app/**/*.test.ts", "emulator/**/*.test.ts", "tests/**/*.test.ts", "scripts/**/*.test.ts", "server/**/*.test.ts"];

/**
 * The test files that touch the database through the suite's helpers (a test database, the app's services, an
 * opened database) or that need a PostgreSQL server: what the `postgres` project runs again on one. Found from
 * the files themselves, so a new database test is in that pass without a list to keep. server/ is left out:
 * its tests start the built app on its embedded database, and its PostgreSQL checks run in the first pass.
 */
function databaseTestFiles(): string[] {
  const touchesDatabase = /createTestDatabase\(|startServices\(|openDatabase\(|process\.env\.TEST_DATABASE_URL/;
  return ["app", "emulator", "tests", "scripts"].flatMap((folder) =>
    readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".test.ts") && !entry.parentPath.includes("hostile"))
      .map((entry) => join(entry.parentPath, entry.name))
      .filter((file) => touchesDatabase.test(readFileSync(file, "utf8"))),
  );
}

// Kept apart from vite.config.ts so unit tests do not load the React Router plugin.
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    environment: "node",
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
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
          // Browser flows in e2e/ belong to Playwright.
          include: UNIT_TESTS,
          exclude: ["tests/hostile/**"],
        },
      },
      {
        // The database tests again, each on a new database of the PostgreSQL server at TEST_DATABASE_URL
        // (`npm run test:postgres`), with the multi-instance suite, which needs one.
        extends: true,
        test: {
          name: "postgres",
          execArgv: ["--liftoff-only"],
          // Two by default; one when `npm test` runs it beside the browser suite (tests/support/run-all.ts).
          maxWorkers: Number(process.env.TEST_POSTGRES_WORKERS ?? 2),
          testTimeout: 30_000,
          hookTimeout: 30_000,
          include: databaseTestFiles(),
          globalSetup: ["tests/support/require-postgres.ts"],
        },
      },
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
