import type { z } from "zod";
import { lemonSqueezyProvider } from "./lemonsqueezy.server.ts";
import { polarProvider } from "./polar.server.ts";
import type { BillingProvider, ProviderId } from "./provider.ts";
import { DEFAULT_RESILIENCE, withResilience, type ResiliencePolicy } from "./resilience.server.ts";
import { stripeProvider } from "./stripe.server.ts";

/**
 * Every payment provider the app supports: one module each. Everything else
 * (the provider ids and names, the configuration schema, the registry below,
 * the webhook endpoints) is derived from this list.
 */
export const PROVIDER_MODULES = [stripeProvider, polarProvider, lemonSqueezyProvider] as const;

type AnyProviderModule = (typeof PROVIDER_MODULES)[number];
type ModuleOf<P extends ProviderId> = Extract<AnyProviderModule, { id: P }>;
type SettingsOf<M> = M extends { settings(...args: never[]): infer S } ? S : never;

export const PROVIDER_IDS = PROVIDER_MODULES.map((module) => module.id) as unknown as readonly [ProviderId, ...ProviderId[]];

export const PROVIDER_NAMES = Object.fromEntries(PROVIDER_MODULES.map((module) => [module.id, module.name])) as Record<
  ProviderId,
  string
>;

/** Each provider's settings, under its id (`config.billing.stripe`...). */
export type ProviderSettingsById = { [P in ProviderId]: SettingsOf<ModuleOf<P>> };

/** All providers' environment variables, merged (the app's schema adds them to its own). */
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
export type ProviderEnvShape = UnionToIntersection<AnyProviderModule["env"]> & z.ZodRawShape;
export const PROVIDER_ENV_SHAPE = Object.assign({}, ...PROVIDER_MODULES.map((module) => module.env)) as ProviderEnvShape;

/** One value per provider, keyed by id. */
export function perProvider<T>(value: (id: ProviderId) => T): Record<ProviderId, T> {
  return Object.fromEntries(PROVIDER_IDS.map((id) => [id, value(id)])) as Record<ProviderId, T>;
}

export function providerModule<P extends ProviderId>(id: P): ModuleOf<P> {
  return PROVIDER_MODULES.find((module) => module.id === id) as ModuleOf<P>;
}

export type ProviderSettings = ProviderSettingsById & {
  provider: ProviderId;
  /** Set in emulated mode: the SDKs talk to the local emulator, with a placeholder key if none is given. */
  emulatorOrigin?: string;
  timeoutMs?: number;
  /** Overrides of the shared retry and breaker settings (tests shorten the cool-down). */
  resilience?: Partial<Omit<ResiliencePolicy, "timeoutMs">>;
};

/** A user waits on a button click: past this, "try again" is a better answer than a spinner. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

/**
 * Builds the active provider once, inside the one resilience policy every provider gets (ADR 009); a missing
 * key outside emulation is an operator error, raised here, not per click.
 */
export function createBillingProvider(settings: ProviderSettings, id: ProviderId = settings.provider): BillingProvider {
  const module = providerModule(id) as ProviderModuleLike;
  const own = settings[id];
  const apiKey = own.apiKey ?? (settings.emulatorOrigin ? module.emulatedApiKey : undefined);
  if (!apiKey) {
    const setting = id === settings.provider ? `PAYMENT_PROVIDER=${id}` : `BILLING_LEGACY_PROVIDERS=${id}`;
    throw new Error(`${module.apiKeyVariable} is required for ${setting} when payments are not emulated`);
  }
  const timeoutMs = settings.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  const provider = module.create({ ...own, apiKey }, { timeoutMs, emulatorOrigin: settings.emulatorOrigin });
  return withResilience(provider, { ...DEFAULT_RESILIENCE, ...settings.resilience, timeoutMs });
}

/**
 * The previous providers whose customers still open their portal there (BILLING_LEGACY_PROVIDERS), each
 * built once at start like the active one, in its own resilience policy; a missing key stops the start.
 */
export function createLegacyProviders(settings: ProviderSettings & { legacyProviders: readonly ProviderId[] }): BillingProvider[] {
  return settings.legacyProviders.filter((id) => id !== settings.provider).map((id) => createBillingProvider(settings, id));
}

/** The one place the modules' different settings types meet: each module only ever receives its own. */
type ProviderModuleLike = {
  emulatedApiKey: string;
  apiKeyVariable: string;
  create(settings: ProviderSettingsById[ProviderId] & { apiKey: string }, context: { timeoutMs: number; emulatorOrigin?: string }): BillingProvider;
};
