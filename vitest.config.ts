import { defineConfig } from "vitest/config";

// Kept apart from vite.config.ts so unit tests do not load the React Router plugin.
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    // Browser flows in e2e/ belong to Playwright.
    include: ["app/**/*.test.ts", "emulator/**/*.test.ts", "tests/**/*.test.ts", "scripts/**/*.test.ts", "server/**/*.test.ts"],
    environment: "node",
  },
});
