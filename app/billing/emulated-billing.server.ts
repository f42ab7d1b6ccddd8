import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Config } from "~/config/env.server.ts";
import type { ProviderEmulator } from "../../emulator/provider-emulator.ts";

type EmulatorModules = {
  emulator: typeof import("../../emulator/provider-emulator.ts");
  routing: typeof import("../../emulator/lemonsqueezy-routing.ts");
};

let modules: Promise<EmulatorModules> | undefined;

/**
 * The emulator's code, loaded only in emulated mode and compiled at run time
 * by tsx: the bundler never sees these imports, so the production server
 * build holds no emulator code (tests/production-build.test.ts checks).
 * Emulation therefore needs the dev dependencies installed, as `npm start` has.
 */
function loadEmulatorModules(): Promise<EmulatorModules> {
  modules ??= (async () => {
    const { tsImport } = await import("tsx/esm/api");
    const load = (file: string) =>
      tsImport(pathToFileURL(path.resolve(file)).href, { parentURL: import.meta.url, tsconfig: path.resolve("tsconfig.json") });
    const [emulator, routing] = await Promise.all([
      load("emulator/provider-emulator.ts"),
      load("emulator/lemonsqueezy-routing.ts"),
    ]);
    return { emulator, routing } as EmulatorModules;
  })();
  return modules;
}

export type EmulatedBilling = {
  /** Where the SDKs send their calls. */
  origin: string;
  /** The emulator started in this process, or null when PAYMENT_EMULATOR_URL names a running one. */
  emulator: ProviderEmulator | null;
  close(): Promise<void>;
};

/** The emulated branch of the composition root: the emulator, and the hooks that point the SDKs at it. */
export async function startEmulatedBilling(config: Config): Promise<EmulatedBilling> {
  const { emulator: emulatorModule, routing } = await loadEmulatorModules();
  const emulator = config.billing.emulatorUrl
    ? null
    : await emulatorModule.startProviderEmulator({
        port: config.billing.emulatorPort,
        appReturnUrl: new URL("/account", config.appOrigin).href,
      });
  const origin = emulator?.origin ?? config.billing.emulatorUrl!;
  // Lemon Squeezy's SDK has a fixed API origin and no option for another: its fetch calls are rerouted.
  const undoRouting = routing.routeLemonSqueezyApiTo(origin);
  return {
    origin,
    emulator,
    async close() {
      undoRouting();
      await emulator?.close();
    },
  };
}
