import path from "node:path";
import { startProviderEmulator } from "./provider-emulator.ts";

/**
 * Standalone emulator (`npm run emulator`), shared by app instances and benchmarks through
 * PAYMENT_EMULATOR_URL. PAYMENT_EMULATOR_PORT (default 3100, 0 = any free port), PAYMENT_EMULATOR_HOST
 * (default 127.0.0.1), APP_URL for the links back from its portal pages, PAYMENT_EMULATOR_DATA_DIR to keep
 * its subscriptions across restarts.
 */
const port = Number(process.env.PAYMENT_EMULATOR_PORT || 3100);
const host = process.env.PAYMENT_EMULATOR_HOST || "127.0.0.1";
const appUrl = process.env.APP_URL || "http://localhost:3000";

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("Invalid configuration: PAYMENT_EMULATOR_PORT must be a port number (0-65535).");
  process.exit(1);
}

// With PAYMENT_EMULATOR_DATA_DIR its subscriptions survive a restart; in memory otherwise.
const dataDir = process.env.PAYMENT_EMULATOR_DATA_DIR?.trim();
const stateFile = dataDir ? path.join(dataDir, "emulator-state.json") : undefined;
const emulator = await startProviderEmulator({ port, host, appReturnUrl: new URL("/account", appUrl).href, stateFile });
// The one line a script waits for: it names the origin to put in PAYMENT_EMULATOR_URL.
console.log(`Provider emulator listening on ${emulator.origin}`);
console.log(`Local mailbox: SMTP on ${emulator.mailbox.smtpUrl}, messages at ${emulator.origin}/__emulator/mailbox`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
