import { createHash } from "node:crypto";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "~/config/env.server.ts";
import type { DriverClient } from "~/db/database.server.ts";

/** What a refused request is told: how long until the limit lets it through again. */
export type RateLimitRefusal = { retryAfterSeconds: number };

/**
 * One limit: `points` per window, counted in the database (the `RateLimit` table)
 * so every instance on the same database shares the count. A consume is one
 * statement through the driver (rate-limiter-flexible's PostgreSQL store:
 * `INSERT … ON CONFLICT … DO UPDATE … RETURNING`, prepared once per
 * connection). No in-memory front: a clear on another instance (a successful
 * login) must lift the limit everywhere at once (ADR 020).
 */
export interface RateLimit {
  /** Counts one more for `key`; null while within the limit, otherwise the refusal. */
  consume(key: readonly string[]): Promise<RateLimitRefusal | null>;
  /** Gives one back (a counted request that turned out not to be the caller's doing). */
  refund(key: readonly string[]): Promise<void>;
  /** Forgets `key`'s count (a successful login clears its email's failures). */
  clear(key: readonly string[]): Promise<void>;
}

export type RateLimits = {
  /** Failed logins per (email, client address). */
  loginFailures: RateLimit;
  /** Login attempts per client address. */
  loginAttempts: RateLimit;
  /** Signups per client address. */
  signups: RateLimit;
  /** Portal (and checkout) provider calls per user. */
  providerCalls: RateLimit;
  /** Password reset requests per email, and per client address (SPEC "Email"). */
  passwordResetsPerEmail: RateLimit;
  passwordResetsPerAddress: RateLimit;
  /** Stops the sweep of expired counters. */
  stop(): void;
};

type Window = { points: number; durationSeconds: number };

/** SPEC "Rate limits": the windows are fixed; the points come from configuration (0 = off). */
const WINDOW_SECONDS = { loginFailures: 15 * 60, loginAttempts: 15 * 60, signups: 60 * 60, providerCalls: 60, passwordResetsPerEmail: 60 * 60, passwordResetsPerAddress: 60 * 60 } as const;

/** Expired counters are deleted this often; a counter that outlived its window is ignored anyway. */
const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

export function createRateLimits(options: {
  /** The database's driver (Database.driver). */
  driver: DriverClient;
  limits: Config["rateLimits"];
  /** Tests shorten the windows; production uses the SPEC's. */
  windowSeconds?: Partial<Record<keyof typeof WINDOW_SECONDS, number>>;
}): RateLimits {
  const { driver, limits } = options;
  const windowOf = (name: keyof typeof WINDOW_SECONDS, points: number): Window => ({
    points,
    durationSeconds: options.windowSeconds?.[name] ?? WINDOW_SECONDS[name],
  });
  const make = (name: keyof typeof WINDOW_SECONDS, points: number) => databaseLimit(driver, name, windowOf(name, points));

  // One sweep for all limits, owned here so `stop()` ends it (the library's own timer cannot be stopped).
  const sweep = setInterval(() => {
    driver.query({ text: 'DELETE FROM "RateLimit" WHERE "expire" < $1', values: [Date.now()] }).catch(() => {});
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  return {
    loginFailures: make("loginFailures", limits.loginFailuresPerEmailAndAddress),
    loginAttempts: make("loginAttempts", limits.loginAttemptsPerAddress),
    signups: make("signups", limits.signupsPerAddressPerHour),
    providerCalls: make("providerCalls", limits.providerCallsPerUserPerMinute),
    passwordResetsPerEmail: make("passwordResetsPerEmail", limits.passwordResetsPerEmailPerHour),
    passwordResetsPerAddress: make("passwordResetsPerAddress", limits.passwordResetsPerAddressPerHour),
    stop: () => clearInterval(sweep),
  };
}

/** A limit that never refuses: for a limit set to 0, and for services built without limits. */
export const NO_LIMIT: RateLimit = {
  consume: async () => null,
  refund: async () => {},
  clear: async () => {},
};

function databaseLimit(driver: DriverClient, name: string, window: Window): RateLimit {
  if (window.points <= 0) return NO_LIMIT;
  const limiter = new RateLimiterPostgres({
    storeClient: driver,
    storeType: "pool",
    // The table is made by our migrations (prisma/schema.prisma: key, points, expire as epoch milliseconds).
    tableName: "RateLimit",
    tableCreated: true,
    keyPrefix: name,
    points: window.points,
    duration: window.durationSeconds,
    clearExpiredByTimeout: false,
  });
  return {
    async consume(key) {
      try {
        await limiter.consume(storageKey(key));
        return null;
      } catch (outcome) {
        // The library rejects with a RateLimiterRes when the limit is reached, and with an Error when the store fails.
        if (outcome instanceof RateLimiterRes) return { retryAfterSeconds: Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)) };
        throw outcome;
      }
    },
    async refund(key) {
      await limiter.reward(storageKey(key));
    },
    async clear(key) {
      await limiter.delete(storageKey(key));
    },
  };
}

/** Emails and addresses are hashed, so the counters table holds no personal data. */
function storageKey(parts: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url");
}
