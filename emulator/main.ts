import { startProviderEmulator } from "./provider-emulator.ts";

/** Standalone emulator: `npx tsx emulator/main.ts` (EMULATOR_PORT, default 3100; APP_URL for the return links). */
const port = Number(process.env.EMULATOR_PORT ?? 3100);
const appUrl = process.env.APP_URL ?? "http://localhost:3000";

const emulator = await startProviderEmulator({ port, appReturnUrl: new URL("/account", appUrl).href });
console.log(`Provider emulator listening on ${emulator.origin}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void emulator.close().then(() => process.exit(0)));
}
