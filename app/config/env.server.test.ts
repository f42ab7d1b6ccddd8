import { describe, expect, test } from "vitest";
import { DEFAULT_SCRYPT_PARAMS, LOW_COST_SCRYPT_PARAMS } from "~/auth/password.server.ts";
import { ConfigError, parseConfig } from "./env.server.ts";

const PROD = {
  APP_ENV: "production",
  APP_URL: "https://billing.example.com",
  SESSION_SECRET: "s".repeat(40),
  STRIPE_SECRET_KEY: "sk_live_abcdefghijklmnop",
  STRIPE_WEBHOOK_SECRET: "whsec_productionSecret",
  STRIPE_PRICE_STARTER: "price_live_starter",
  STRIPE_PRICE_PRO: "price_live_pro",
  SMTP_URL: "smtps://mailer:pw@smtp.example.com:465",
  MAIL_FROM: "PortalStack <billing@example.com>",
};

function errorOf(env: Record<string, string>): string {
  let thrown: unknown;
  try {
    parseConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return (thrown as Error).message;
}

describe("configuration", () => {
  test("no environment at all gives a working local demo", () => {
    const config = parseConfig({});
    expect(config.mode).toBe("development");
    expect(config.appOrigin).toBe("http://localhost:3000");
    expect(config.database).toEqual({ kind: "embedded", dataDir: "./data" });
    expect(config.seedDemoData).toBe(true);
    expect(config.billing.provider).toBe("stripe");
    expect(config.billing.emulated).toBe(true);
    expect(config.sessionSecrets).toHaveLength(1);
  });

  test("PORT moves the default app URL", () => {
    expect(parseConfig({ PORT: "4100" }).appOrigin).toBe("http://localhost:4100");
  });

  test("a provider key outside production means the real provider, not the emulator", () => {
    const config = parseConfig({ PAYMENT_PROVIDER: "polar", POLAR_ACCESS_TOKEN: "polar_oat_x" });
    expect(config.billing.emulated).toBe(false);
    expect(config.billing.polar).toEqual({ apiKey: "polar_oat_x", server: "sandbox", plans: {} });
  });

  test("production needs APP_URL, SESSION_SECRET and the active provider's key, webhook secret and plan ids, named one at a time", () => {
    for (const name of Object.keys(PROD).filter((key) => key !== "APP_ENV")) {
      const env: Record<string, string> = { ...PROD };
      delete env[name];
      expect(errorOf(env)).toBe(`Invalid configuration: ${name} is required when APP_ENV=production.`);
    }
  });

  test.each([
    ["polar", { POLAR_ACCESS_TOKEN: "polar_oat_x", POLAR_WEBHOOK_SECRET: "polar_whs_x", POLAR_PRODUCT_STARTER: "7d1c1c3e-0000-4000-8000-00000000b001", POLAR_PRODUCT_PRO: "7d1c1c3e-0000-4000-8000-00000000b002" }],
    ["lemonsqueezy", { LEMONSQUEEZY_API_KEY: "a.b.c", LEMONSQUEEZY_WEBHOOK_SECRET: "ls-signing-secret", LEMONSQUEEZY_STORE_ID: "12345", LEMONSQUEEZY_VARIANT_STARTER: "501", LEMONSQUEEZY_VARIANT_PRO: "502" }],
  ])("production with %s active needs that provider's settings, and only those", (provider, settings) => {
    const base = { APP_ENV: "production", APP_URL: PROD.APP_URL, SESSION_SECRET: PROD.SESSION_SECRET, SMTP_URL: PROD.SMTP_URL, MAIL_FROM: PROD.MAIL_FROM, PAYMENT_PROVIDER: provider };
    const config = parseConfig({ ...base, ...settings });
    expect(config.billing.emulated).toBe(false);
    expect(Object.values(config.billing[provider as "polar"].plans)).toHaveLength(2);
    for (const name of Object.keys(settings)) {
      const env: Record<string, string> = { ...base, ...settings };
      delete env[name];
      expect(errorOf(env)).toBe(`Invalid configuration: ${name} is required when APP_ENV=production.`);
    }
  });

  test("emulated mode uses the demo catalogue's plan ids unless others are configured", () => {
    const config = parseConfig({ STRIPE_PRICE_PRO: "price_mine" });
    expect(config.billing.emulated).toBe(true);
    expect(config.billing.stripe.plans).toEqual({ starter: "price_emulated_starter", pro: "price_mine", team: "price_emulated_team" });
    expect(config.billing.lemonsqueezy.storeId).toBe("90001");
    expect(parseConfig({ STRIPE_SECRET_KEY: "sk_test_real" }).billing.stripe.plans).toEqual({});
  });

  test("each provider's webhook secret is read, whichever provider is active", () => {
    const config = parseConfig({
      STRIPE_WEBHOOK_SECRET: "whsec_a",
      POLAR_WEBHOOK_SECRET: "polar-secret",
      LEMONSQUEEZY_WEBHOOK_SECRET: "lemon-secret",
    });
    expect([config.billing.stripe, config.billing.polar, config.billing.lemonsqueezy].map((s) => s.webhookSecret)).toEqual([
      "whsec_a",
      "polar-secret",
      "lemon-secret",
    ]);
  });

  test("production never seeds or emulates by itself", () => {
    const config = parseConfig(PROD);
    expect(config.seedDemoData).toBe(false);
    expect(config.billing.emulated).toBe(false);
    expect(config.billing.polar.server).toBe("production");
  });

  test("production emulates only when asked, and an emulated demo has its demo users", () => {
    const { STRIPE_SECRET_KEY: _unused, ...withoutKey } = PROD;
    const config = parseConfig({ ...withoutKey, PAYMENT_EMULATOR: "1" });
    expect(config.billing.emulated).toBe(true);
    expect(config.seedDemoData).toBe(true);
  });

  test("production seeds demo users when asked, without emulating", () => {
    const config = parseConfig({ ...PROD, SEED_DEMO_DATA: "1" });
    expect(config.seedDemoData).toBe(true);
    expect(config.billing.emulated).toBe(false);
  });

  test("passwords are hashed at the standard cost unless a test run asks for less, and a deployment never may", () => {
    expect(parseConfig({}).passwordHashing.params).toEqual(DEFAULT_SCRYPT_PARAMS);
    expect(parseConfig(PROD).passwordHashing.params).toEqual(DEFAULT_SCRYPT_PARAMS);
    expect(parseConfig({ APP_ENV: "test" }).passwordHashing.params).toEqual(LOW_COST_SCRYPT_PARAMS);
    expect(parseConfig({ APP_ENV: "test", PASSWORD_HASH_COST: "standard" }).passwordHashing.params).toEqual(DEFAULT_SCRYPT_PARAMS);
    expect(parseConfig({ PASSWORD_HASH_COST: "low" }).passwordHashing.params).toEqual(LOW_COST_SCRYPT_PARAMS);
    expect(errorOf({ ...PROD, PASSWORD_HASH_COST: "low" })).toContain("PASSWORD_HASH_COST");
    expect(errorOf({ PASSWORD_HASH_COST: "none" })).toContain("PASSWORD_HASH_COST");
  });

  test("production needs SMTP_URL and MAIL_FROM, unless it is an emulated demo with the local mailbox", () => {
    for (const name of ["SMTP_URL", "MAIL_FROM"] as const) {
      const { [name]: _unused, ...without } = PROD;
      expect(errorOf(without)).toBe(`Invalid configuration: ${name} is required when APP_ENV=production.`);
    }
    const { STRIPE_SECRET_KEY: _key, SMTP_URL: _smtp, MAIL_FROM: _from, ...demo } = PROD;
    expect(parseConfig({ ...demo, PAYMENT_EMULATOR: "1" }).mail).toMatchObject({ localMailbox: true, smtpUrl: undefined });
    expect(parseConfig(PROD).mail).toEqual({ smtpUrl: PROD.SMTP_URL, from: PROD.MAIL_FROM, localMailbox: false });
  });

  test("SMTP_URL must be an smtp(s) URL and MAIL_FROM one line, named without their values", () => {
    expect(errorOf({ SMTP_URL: "http://mail.example.com" })).toBe("Invalid configuration: SMTP_URL must be an smtp:// or smtps:// URL.");
    expect(errorOf({ MAIL_FROM: "a@example.com\r\nBcc: all@example.com" })).toMatch(/^Invalid configuration: MAIL_FROM must be an email address/);
  });

  test("the signup limit is 100 an hour in development and emulated mode, 10 in production", () => {
    expect(parseConfig({}).rateLimits.signupsPerAddressPerHour).toBe(100);
    expect(parseConfig(PROD).rateLimits.signupsPerAddressPerHour).toBe(10);
    expect(parseConfig({ ...PROD, RATE_LIMIT_SIGNUP_PER_HOUR: "3" }).rateLimits.signupsPerAddressPerHour).toBe(3);
  });

  test("NODE_ENV=production alone is not a deployment", () => {
    expect(parseConfig({ NODE_ENV: "production" }).mode).toBe("development");
  });

  test.each([
    ["PAYMENT_PROVIDER", "paypal", "PAYMENT_PROVIDER must be one of: stripe, polar, lemonsqueezy"],
    ["APP_URL", "not a url", "APP_URL must be an http(s) URL"],
    ["STRIPE_SECRET_KEY", "pk_live_publishable123", "STRIPE_SECRET_KEY must be a Stripe secret or restricted key"],
    ["SESSION_SECRET", "short-secret-value", "SESSION_SECRET must be at least 32 characters long"],
    ["STRIPE_WEBHOOK_SECRET", "not-a-secret", "STRIPE_WEBHOOK_SECRET must be a webhook signing secret"],
    ["STRIPE_PRICE_PRO", "prod_123", "STRIPE_PRICE_PRO must be a Stripe price id"],
    ["LEMONSQUEEZY_VARIANT_PRO", "abc", "LEMONSQUEEZY_VARIANT_PRO must be a Lemon Squeezy variant id"],
    ["DATABASE_URL", "mysql://root:hunter2@db/app", "DATABASE_URL must be a postgres:// or postgresql:// URL"],
    ["BILLING_RETURN_ORIGINS", "https://ok.example.com,ftp://files.example.com", "BILLING_RETURN_ORIGINS"],
    ["POLAR_SERVER", "staging", "POLAR_SERVER must be one of: sandbox, production"],
    ["PORT", "eighty", "PORT is invalid"],
  ])("a bad %s stops the start with one line naming it, never its value", (name, value, expected) => {
    const message = errorOf({ [name]: value });
    expect(message).toContain(expected);
    expect(message).not.toContain(value);
    expect(message.split("\n")).toHaveLength(1);
  });

  test("return origins are normalised to origins", () => {
    const config = parseConfig({ BILLING_RETURN_ORIGINS: "https://docs.example.com/path, https://help.example.com" });
    expect(config.billing.returnOrigins).toEqual(["https://docs.example.com", "https://help.example.com"]);
  });

  test("several session secrets allow rotation", () => {
    const config = parseConfig({ SESSION_SECRET: `${"a".repeat(32)},${"b".repeat(32)}` });
    expect(config.sessionSecrets).toEqual(["a".repeat(32), "b".repeat(32)]);
  });
});
