import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Config } from "~/config/env.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import type { ProviderId } from "./providers/provider.ts";
import { PROVIDER_IDS } from "./providers/registry.server.ts";
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
  /** The secrets the emulator signs each provider's webhooks with (the configured ones where set). */
  webhookSecrets: Partial<Record<ProviderId, string>>;
  close(): Promise<void>;
};

/** The emulated branch of the composition root: the emulator, and the hooks that point the SDKs at it. */
export async function startEmulatedBilling(config: Config, options: { stateDir?: string } = {}): Promise<EmulatedBilling> {
  const { emulator: emulatorModule, routing } = await loadEmulatorModules();
  const emulator = config.billing.emulatorUrl
    ? null
    : await emulatorModule.startProviderEmulator({
        port: config.billing.emulatorPort,
        appReturnUrl: new URL("/account", config.appOrigin).href,
        // Kept with the app's data, so a restart finds the subscriptions the database knows (issue 16).
        stateFile: options.stateDir ? path.join(options.stateDir, "emulator-state.json") : undefined,
      });
  const origin = emulator?.origin ?? config.billing.emulatorUrl!;
  // Lemon Squeezy's SDK has a fixed API origin and no option for another: its fetch calls are rerouted.
  const undoRouting = routing.routeLemonSqueezyApiTo(origin);
  return {
    origin,
    emulator,
    webhookSecrets: await registerWebhooks(origin, config),
    async close() {
      undoRouting();
      await emulator?.close();
    },
  };
}

/**
 * Tells the emulator where this app takes webhooks (contract: webhook registration), with the secrets
 * configured here; it answers with the secret it signs each provider's events with.
 */
async function registerWebhooks(origin: string, config: Config): Promise<Partial<Record<ProviderId, string>>> {
  const configured = Object.fromEntries(
    PROVIDER_IDS.flatMap((id) => (config.billing[id].webhookSecret ? [[id, config.billing[id].webhookSecret]] : [])),
  ) as Partial<Record<ProviderId, string>>;
  try {
    const response = await fetch(new URL("/__emulator/webhooks", origin), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ url: new URL("/webhooks", config.appOrigin).href, secrets: configured }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`status ${response.status}`);
    const { secrets } = (await response.json()) as { secrets?: Record<string, unknown> };
    const handedOut = Object.fromEntries(
      PROVIDER_IDS.flatMap((id) => (typeof secrets?.[id] === "string" && secrets[id] ? [[id, secrets[id]]] : [])),
    );
    return { ...handedOut, ...configured };
  } catch (error) {
    // An emulator without webhook delivery: only configured secrets verify (no secret values in the log).
    logEvent("warn", "billing.emulator.webhooks_not_registered", { reason: error instanceof Error ? error.message.slice(0, 80) : "unknown" });
    return configured;
  }
}
