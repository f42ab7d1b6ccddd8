import { createLemonSqueezyProvider } from "./lemonsqueezy.server.ts";
import { createPolarProvider } from "./polar.server.ts";
import type { BillingProvider, ProviderId } from "./provider.ts";
import { DEFAULT_RESILIENCE, withResilience, type ResiliencePolicy } from "./resilience.server.ts";
import { createStripeProvider } from "./stripe.server.ts";

export type ProviderSettings = {
  provider: ProviderId;
  stripe: { secretKey?: string; portalConfigurationId?: string };
  polar: { accessToken?: string; server: "sandbox" | "production" };
  lemonsqueezy: { apiKey?: string };
  /** Set in emulated mode: the SDKs talk to the local emulator, with a placeholder key if none is given. */
  emulatorOrigin?: string;
  timeoutMs?: number;
  /** Overrides of the shared retry and breaker settings (tests shorten the cool-down). */
  resilience?: Partial<Omit<ResiliencePolicy, "timeoutMs">>;
};

/** A user waits on a button click: past this, "try again" is a better answer than a spinner. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

/** Each provider: one line, the key it needs, its name in the environment and the emulator's placeholder for it. */
const PROVIDERS: { [P in ProviderId]: (settings: ProviderSettings, timeoutMs: number) => BillingProvider } = {
  stripe: (s, timeoutMs) =>
    createStripeProvider({
      secretKey: requireKey(s, s.stripe.secretKey, "STRIPE_SECRET_KEY", "sk_test_emulated"),
      portalConfigurationId: s.stripe.portalConfigurationId,
      timeoutMs,
      emulatorOrigin: s.emulatorOrigin,
    }),
  polar: (s, timeoutMs) =>
    createPolarProvider({
      accessToken: requireKey(s, s.polar.accessToken, "POLAR_ACCESS_TOKEN", "polar_oat_emulated"),
      server: s.polar.server,
      timeoutMs,
      emulatorOrigin: s.emulatorOrigin,
    }),
  // Lemon Squeezy keys are JWTs, so the placeholder has the same three-part shape.
  lemonsqueezy: (s) =>
    createLemonSqueezyProvider({
      apiKey: requireKey(s, s.lemonsqueezy.apiKey, "LEMONSQUEEZY_API_KEY", "emulated.lemonsqueezy.key"),
      emulatorOrigin: s.emulatorOrigin,
    }),
};

/**
 * Builds the active provider once, inside the one resilience policy every provider gets (ADR 009); a missing
 * key outside emulation is an operator error, raised here, not per click.
 */
export function createBillingProvider(settings: ProviderSettings): BillingProvider {
  const timeoutMs = settings.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  return withResilience(PROVIDERS[settings.provider](settings, timeoutMs), {
    ...DEFAULT_RESILIENCE,
    ...settings.resilience,
    timeoutMs,
  });
}

function requireKey(settings: ProviderSettings, key: string | undefined, variable: string, placeholder: string): string {
  if (key) return key;
  if (settings.emulatorOrigin) return placeholder;
  throw new Error(`${variable} is required for PAYMENT_PROVIDER=${settings.provider} when payments are not emulated`);
}
