import { defineConfig } from "vitest/config";

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
          // Many tests hash passwords (scrypt, ~0.3 s each) or open databases: on two busy cores 5 s is
          // too tight to tell a hang from a slow moment. A bound for hangs, not a performance goal.
          testTimeout: 30_000,
          // Hooks start services and databases as the tests do: the same bound.
          hookTimeout: 30_000,
          // Browser flows in e2e/ belong to Playwright.
          include: ["app/**/*.test.ts", "emulator/**/*.test.ts", "tests/**/*.test.ts", "scripts/**/*.test.ts", "server/**/*.test.ts"],
          exclude: ["tests/hostile/**"],
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
          // Each file starts its own app and mostly waits on it: two files at a time even on two cores
          // (Vitest's default there is one).
          maxWorkers: 2,
        },
      },
    ],
  },
});
