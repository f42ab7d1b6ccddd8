import { DEFAULT_SCRYPT_PARAMS, LOW_COST_SCRYPT_PARAMS, type ScryptParams } from "~/auth/password.server.ts";
import { z } from "zod";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { PROVIDER_ENV_SHAPE, PROVIDER_IDS, PROVIDER_MODULES, type ProviderSettingsById, providerModule } from "~/billing/providers/registry.server.ts";
import { emptyAsUndefined } from "./env-fields.ts";

/**
 * Every setting the app reads, parsed once at start. Nothing else in the app
 * touches `process.env`: it receives a `Config`.
 *
 * `APP_ENV=production` is the one switch for a deployment. NODE_ENV cannot be
 * it: the server (server/main.ts) sets NODE_ENV=production whenever it is unset, so a
 * demo started with `npm start` would look like a deployment.
 */
const DEV_SESSION_SECRET = "dev-only-session-secret-not-for-production";

const flag = z.preprocess(
  emptyAsUndefined,
  z.enum(["0", "1", "true", "false"]).optional().transform((v) => v === "1" || v === "true"),
);

const count = (fallback: number, max = 1_000_000) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(max).default(fallback));

const originSchema = z.url({ protocol: /^https?$/ }).transform((value, ctx) => {
  const url = new URL(value);
  if (url.username || url.password) {
    ctx.addIssue({ code: "custom", message: "must not contain credentials" });
    return z.NEVER;
  }
  return url.origin;
});

const envSchema = z.object({
  APP_ENV: z.preprocess(emptyAsUndefined, z.enum(["development", "production", "test"]).default("development")),
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  APP_URL: z.preprocess(emptyAsUndefined, originSchema.optional()),
  SESSION_SECRET: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((v) => v?.split(",").map((s) => s.trim()).filter(Boolean))
      .refine((secrets) => !secrets || secrets.every((s) => s.length >= 32), "must be at least 32 characters long (each one, if several)"),
  ),
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL").optional(),
  ),
  DATABASE_POOL_SIZE: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100).default(10)),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default("./data")),
  SEED_DEMO_DATA: flag,
  PAYMENT_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(PROVIDER_IDS).default("stripe")),
  PAYMENT_EMULATOR: flag,
  PAYMENT_EMULATOR_URL: z.preprocess(emptyAsUndefined, originSchema.optional()),
  PAYMENT_EMULATOR_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(0)),
  PAYMENT_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(100).max(60_000).default(10_000)),
  BILLING_RETURN_ORIGINS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((v) => v?.split(",").map((s) => s.trim()).filter(Boolean) ?? [])
      .pipe(z.array(originSchema)),
  ),
  // Issue 10: customers of these previous providers still open their portal there.
  BILLING_LEGACY_PROVIDERS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((v) => v?.split(",").map((s) => s.trim()).filter(Boolean) ?? [])
      .pipe(z.array(z.enum(PROVIDER_IDS))),
  ),
  BILLING_ACTIVITY_RETENTION_DAYS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(3650).default(90)),
  // SPEC "Keeping billing state true": the reconciler's interval (0: off; fractions for tests) and call budget.
  BILLING_RECONCILE_INTERVAL_MINUTES: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(10_080).default(60)),
  BILLING_RECONCILE_CALLS_PER_MINUTE: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100_000).default(30)),
  BILLING_EVENT_RETENTION_DAYS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(3650).default(30)),
  // SPEC "Entitlements": how long a past-due subscription keeps its plan after it became past due.
  BILLING_PAST_DUE_GRACE_DAYS: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(365).default(7)),
  TRUST_PROXY: count(0, 10),
  SHUTDOWN_GRACE_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(300_000).default(10_000)),
  PASSWORD_HASH_COST: z.preprocess(emptyAsUndefined, z.enum(["standard", "low"]).optional()),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(["debug", "info", "warn", "error", "silent"]).default("info")),
  RATE_LIMIT_LOGIN_FAILURES: count(5),
  RATE_LIMIT_LOGIN_PER_ADDRESS: count(100),
  // SPEC "Rate limits": 10 in production, 100 in development and emulated mode (set after parsing).
  RATE_LIMIT_SIGNUP_PER_HOUR: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(1_000_000).optional()),
  RATE_LIMIT_PASSWORD_RESET_PER_EMAIL: count(5),
  RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS: count(20),
  SMTP_URL: z.preprocess(
    emptyAsUndefined,
    z.string().trim().regex(/^smtps?:\/\/\S+$/, "must be an smtp:// or smtps:// URL").refine(URL.canParse, "must be an smtp:// or smtps:// URL").optional(),
  ),
  // An address, or "Name <address>"; a line break could add headers of its own.
  MAIL_FROM: z.preprocess(
    emptyAsUndefined,
    z.string().trim().max(320).regex(/^[^\r\n]*@[^\r\n]*$/, "must be an email address or \"Name <address>\" on one line").optional(),
  ),
  RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: count(10),
  // Each provider module declares its own variables (keys, webhook secret, plan ids...).
  ...PROVIDER_ENV_SHAPE,
});

export type Config = {
  mode: "development" | "production" | "test";
  port: number;
  /** This app's origin, e.g. `http://localhost:3000`. */
  appOrigin: string;
  sessionSecrets: string[];
  database: { kind: "postgres"; url: string; poolSize: number } | { kind: "embedded"; dataDir: string };
  seedDemoData: boolean;
  server: {
    /** How many proxy hops in front of the app are trusted for X-Forwarded-* (0: none). */
    trustProxy: number;
    /** How long SIGTERM waits for requests in flight before closing anyway. */
    shutdownGraceMs: number;
    logLevel: "debug" | "info" | "warn" | "error" | "silent";
  };
  /** scrypt's parameters for new hashes (and for the dummy check of an unknown email). */
  passwordHashing: { params: ScryptParams };
  /** SPEC "Rate limits"; 0 switches a limit off. */
  rateLimits: {
    loginFailuresPerEmailAndAddress: number;
    loginAttemptsPerAddress: number;
    signupsPerAddressPerHour: number;
    providerCallsPerUserPerMinute: number;
    passwordResetsPerEmailPerHour: number;
    passwordResetsPerAddressPerHour: number;
  };
  /** SPEC "Email": where mail goes. Without `smtpUrl`, development and emulated mode use the emulator's local mailbox. */
  mail: { smtpUrl?: string; from: string; localMailbox: boolean };
  billing: {
    provider: ProviderId;
    /** The SDKs talk to the local emulator instead of the provider. */
    emulated: boolean;
    emulatorPort: number;
    /** A running emulator (`npm run emulator`) to use instead of starting one in this process. */
    emulatorUrl?: string;
    /** DATA_DIR: where an emulator this process starts keeps its state across restarts. */
    emulatorDataDir: string;
    /** How long one provider call may take before the user is told it timed out. */
    timeoutMs: number;
    /** Origins besides `appOrigin` that a portal may send the user back to. */
    returnOrigins: string[];
    /** Previous providers whose customers still open their portal there (never the active one). */
    legacyProviders: ProviderId[];
    /** Billing activity entries older than this are deleted (at start, then daily). */
    activityRetentionDays: number;
    /** How often the reconciler reads the providers (0: never). */
    reconcileIntervalMinutes: number;
    /** The reconciler's provider calls in any minute, at most. */
    reconcileCallsPerMinute: number;
    /** Webhook payloads older than this are cleared from the ledger (at start, then daily). */
    eventRetentionDays: number;
    /** SPEC "Entitlements": days a past-due subscription keeps its plan. */
    pastDueGraceDays: number;
  } & ProviderSettingsById; // each provider's settings under its id, as its module reads them
};

/** A setting is missing or malformed: the message names it, never its value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? "environment");
    throw new ConfigError(`Invalid configuration: ${variable} ${describeIssue(issue)}.`);
  }
  const e = parsed.data;
  const production = e.APP_ENV === "production";
  const active = providerModule(e.PAYMENT_PROVIDER);
  const legacyProviders = [...new Set(e.BILLING_LEGACY_PROVIDERS)].filter((id) => id !== e.PAYMENT_PROVIDER);
  const values = e as Record<string, unknown>;

  if (production) {
    // The active provider's key, webhook secret and plan ids (SPEC: Plans and checkout; Subscriptions and webhooks).
    const providerNeeds = e.PAYMENT_EMULATOR ? [] : [active.apiKeyVariable, ...active.requiredInProduction];
    // A legacy provider's portal is real: its key is required too (its plan ids are not: no new checkouts go there).
    if (!e.PAYMENT_EMULATOR) providerNeeds.push(...legacyProviders.map((id) => providerModule(id).apiKeyVariable));
    // Mail is always on (password reset); an emulated demo may use the emulator's local mailbox instead.
    const mailNeeds = e.PAYMENT_EMULATOR ? [] : ["SMTP_URL", "MAIL_FROM"];
    for (const name of ["APP_URL", "SESSION_SECRET", ...providerNeeds, ...mailNeeds]) {
      if (!values[name]) throw new ConfigError(`Invalid configuration: ${name} is required when APP_ENV=production.`);
    }
  }
  // The low cost exists for test runs only; a deployment hashes at the standard cost whatever it is told.
  if (production && e.PASSWORD_HASH_COST === "low") {
    throw new ConfigError("Invalid configuration: PASSWORD_HASH_COST=low is for tests and is refused when APP_ENV=production.");
  }
  const hashCost = e.PASSWORD_HASH_COST ?? (e.APP_ENV === "test" ? "low" : "standard");
  // Emulation never starts in production by itself.
  const emulated = e.PAYMENT_EMULATOR || (!production && !values[active.apiKeyVariable]);
  const providerSettings = Object.fromEntries(
    PROVIDER_MODULES.map((module) => [module.id, module.settings(e, { production, emulated })]),
  ) as ProviderSettingsById;

  return {
    mode: e.APP_ENV,
    port: e.PORT,
    appOrigin: e.APP_URL ?? `http://localhost:${e.PORT}`,
    sessionSecrets: e.SESSION_SECRET ?? [DEV_SESSION_SECRET],
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: "embedded", dataDir: e.DATA_DIR },
    // Demo users are for development and emulated demos (SPEC: Demo users); a deployment
    // seeds only when told to, by SEED_DEMO_DATA=1 or by asking for the emulator.
    seedDemoData: production ? e.SEED_DEMO_DATA || e.PAYMENT_EMULATOR : true,
    server: { trustProxy: e.TRUST_PROXY, shutdownGraceMs: e.SHUTDOWN_GRACE_MS, logLevel: e.LOG_LEVEL },
    passwordHashing: { params: hashCost === "low" ? LOW_COST_SCRYPT_PARAMS : DEFAULT_SCRYPT_PARAMS },
    rateLimits: {
      loginFailuresPerEmailAndAddress: e.RATE_LIMIT_LOGIN_FAILURES,
      loginAttemptsPerAddress: e.RATE_LIMIT_LOGIN_PER_ADDRESS,
      signupsPerAddressPerHour: e.RATE_LIMIT_SIGNUP_PER_HOUR ?? (production && !emulated ? 10 : 100),
      providerCallsPerUserPerMinute: e.RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE,
      passwordResetsPerEmailPerHour: e.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL,
      passwordResetsPerAddressPerHour: e.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS,
    },
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? "PortalStack <no-reply@localhost>",
      localMailbox: !e.SMTP_URL && emulated,
    },
    billing: {
      provider: e.PAYMENT_PROVIDER,
      emulated,
      emulatorPort: e.PAYMENT_EMULATOR_PORT,
      emulatorUrl: e.PAYMENT_EMULATOR_URL,
      emulatorDataDir: e.DATA_DIR,
      timeoutMs: e.PAYMENT_TIMEOUT_MS,
      returnOrigins: e.BILLING_RETURN_ORIGINS,
      legacyProviders,
      activityRetentionDays: e.BILLING_ACTIVITY_RETENTION_DAYS,
      reconcileIntervalMinutes: e.BILLING_RECONCILE_INTERVAL_MINUTES,
      reconcileCallsPerMinute: e.BILLING_RECONCILE_CALLS_PER_MINUTE,
      eventRetentionDays: e.BILLING_EVENT_RETENTION_DAYS,
      pastDueGraceDays: e.BILLING_PAST_DUE_GRACE_DAYS,
      ...providerSettings,
    },
  };
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "is invalid";
  if (issue.code === "invalid_value") return `must be one of: ${issue.values.join(", ")}`;
  if (issue.code === "invalid_format" && issue.format === "url") return "must be an http(s) URL";
  if (issue.code === "invalid_type") return "is invalid";
  // Messages come from this schema (never the value itself).
  return issue.message.startsWith("must") ? issue.message : `is invalid (${issue.message})`;
}
