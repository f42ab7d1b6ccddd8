import type { Config } from "~/config/env.server.ts";
import type { BillingProvider, ProviderId } from "../providers/provider.ts";
import { createBillingProvider, perProvider } from "../providers/registry.server.ts";

/**
 * The providers billing state is read from: the active one and every legacy one (BILLING_LEGACY_PROVIDERS),
 * each inside the resilience policy. A listed provider without its key throws an Error naming the variable
 * (never a value); emulated, every SDK talks to the emulator at `emulatorOrigin`.
 */
export function syncProviders(config: Config, emulatorOrigin?: string): Partial<Record<ProviderId, BillingProvider>> {
  const ids = [config.billing.provider, ...config.billing.legacyProviders];
  const settings = { ...config.billing, emulatorOrigin };
  return Object.fromEntries(ids.map((id) => [id, createBillingProvider(settings, id)]));
}

export function configuredPlans(config: Config) {
  return perProvider((id) => config.billing[id].plans);
}
