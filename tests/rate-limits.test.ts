import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { ProviderId } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { type Database, openDatabase } from "~/db/database.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// SPEC "Rate limits" where they meet the rest of the app: provider calls per user through the
// portal's two doors (with the emulator), and limits shared by instances on one database.

const APP = "http://app.test";
const CALLS_PER_MINUTE = 2;

function demo(provider: ProviderId) {
  return DEMO_ACCOUNTS.find((account) => account.customer?.provider === provider)!;
}

async function signIn(services: Services, email: string): Promise<string> {
  const request = new Request(`${APP}/login`, { method: "POST", body: new URLSearchParams({ email, password: DEMO_PASSWORD }) });
  const result = await services.auth.login(request, "192.0.2.1");
  if (!result.ok) throw new Error(`could not sign in ${email}`);
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

function jsonPost(cookie: string, body: unknown = { returnUrl: "/account" }) {
  return new Request(`${APP}/api/payments/portal`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function formPost(cookie: string) {
  return new Request(`${APP}/billing/portal`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: APP, Cookie: cookie },
    body: new URLSearchParams({ returnUrl: "/account" }),
  });
}

async function startEmulated(provider: ProviderId): Promise<Services> {
  const config = parseConfig({
    APP_ENV: "test",
    APP_URL: APP,
    PAYMENT_PROVIDER: provider,
    PAYMENT_EMULATOR: "1",
    RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: String(CALLS_PER_MINUTE),
    // A rate-limit test: logins cost what they cost in a deployment.
    PASSWORD_HASH_COST: "standard",
  });
  return startServices(config, { database: await createTestDatabase() });
}

describe("provider calls per user", () => {
  describe("with stripe active", () => {
    let services: Services;
    let cookie: string;
    const statusOf = async (body?: unknown) => (await services.handlePortalRequest(jsonPost(cookie, body), "json")).status;

    beforeAll(async () => {
      services = await startEmulated("stripe");
      cookie = await signIn(services, demo("stripe").email);
    });
    afterAll(() => services.stop());
    beforeEach(async () => {
      services.emulator!.reset();
      await services.database.prisma.rateLimit.deleteMany();
    });

    test("past the limit the JSON door answers 429 with Retry-After and the form goes back to /account with the message", async () => {
      for (let i = 0; i < CALLS_PER_MINUTE; i++) expect(await statusOf()).toBe(200);

      const json = await services.handlePortalRequest(jsonPost(cookie), "json");
      expect(json.status).toBe(429);
      expect(await json.json()).toEqual({ error: "Too Many Requests", code: "too_many_requests" });
      const retryAfter = Number(json.headers.get("Retry-After"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);

      const form = await services.handlePortalRequest(formPost(cookie), "form-or-json");
      expect(form.status).toBe(303);
      expect(form.headers.get("Location")).toBe("/account");
      const flashCookie = form.headers.get("Set-Cookie")!.split(";")[0]!;
      const { message } = await services.flash.take(new Request(`${APP}/account`, { headers: { Cookie: flashCookie } }));
      expect(message).toMatch(/many times in a short while/);

      expect(services.emulator!.requests("stripe")).toHaveLength(CALLS_PER_MINUTE);
    });

    test("requests refused before the provider (bad body, bad return URL, no customer, mismatch) cost nothing", async () => {
      const prisma = services.database.prisma;
      const userId = (await prisma.user.findUniqueOrThrow({ where: { email: demo("stripe").email } })).id;
      const customer = await prisma.customer.findFirstOrThrow({ where: { organizationId: personalOrganizationId(userId) } });
      for (let i = 0; i < 3; i++) {
        expect(await statusOf("not json")).toBe(400);
        expect(await statusOf({ returnUrl: "https://evil.test/" })).toBe(400);
      }
      try {
        await prisma.customer.update({ where: { id: customer.id }, data: { provider: "polar" } });
        for (let i = 0; i < 3; i++) expect(await statusOf()).toBe(400);
        await prisma.customer.delete({ where: { id: customer.id } });
        for (let i = 0; i < 3; i++) expect(await statusOf()).toBe(404);
      } finally {
        await prisma.customer.upsert({ where: { id: customer.id }, create: customer, update: customer });
      }

      for (let i = 0; i < CALLS_PER_MINUTE; i++) expect(await statusOf()).toBe(200);
      expect(await statusOf()).toBe(429);
    });
    test("checkout starts count against the same provider calls as portal opens", async () => {
      // nobody@demo.test has no subscription, so each checkout reaches the provider.
      const nobody = await signIn(services, "nobody@demo.test");
      const checkout = () =>
        services.handleCheckoutRequest(
          new Request(`${APP}/api/payments/checkout`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Cookie: nobody },
            body: JSON.stringify({ plan: "pro" }),
          }),
          "json",
        );
      for (let i = 0; i < CALLS_PER_MINUTE; i++) expect((await checkout()).status).toBe(200);
      const refused = await checkout();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
      // Checkouts created (each also lists the user's other open checkouts, to expire them).
      const created = services.emulator!.requests("stripe").filter((call) => call.method === "POST" && call.path === "/v1/checkout/sessions");
      expect(created).toHaveLength(CALLS_PER_MINUTE);
    });
  });

  describe("with lemonsqueezy active", () => {
    let services: Services;
    beforeAll(async () => (services = await startEmulated("lemonsqueezy")));
    afterAll(() => services.stop());

    test("a cached Lemon Squeezy link costs nothing", async () => {
      const cookie = await signIn(services, demo("lemonsqueezy").email);
      for (let i = 0; i < CALLS_PER_MINUTE + 4; i++) {
        expect((await services.handlePortalRequest(jsonPost(cookie), "json")).status).toBe(200);
      }
      expect(services.emulator!.requests("lemonsqueezy")).toHaveLength(1);
    });
  });
});

/**
 * Two databases handles on one database, as two instances would have: two pools on one
 * PostgreSQL database when TEST_DATABASE_URL is set, otherwise one embedded PGlite shared in-process.
 */
async function sharedDatabase(): Promise<{ first: Database; second: Database; close(): Promise<unknown> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const database = await createTestDatabase();
    // Each service set closes its database on stop; the shared one is closed once, at the end.
    const handle = { ...database, close: async () => {} };
    return { first: handle, second: handle, close: () => database.close() };
  }
  const name = `test_${randomUUID().replaceAll("-", "")}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const first = await openDatabase({ kind: "postgres", url: url.href });
  const second = await openDatabase({ kind: "postgres", url: url.href });
  return {
    first,
    second,
    // Each instance closes its own pool on stop; what is left is the database itself.
    close: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

describe("two instances on one database", () => {
  let shared: Awaited<ReturnType<typeof sharedDatabase>>;
  let one: Services;
  let two: Services;

  beforeAll(async () => {
    shared = await sharedDatabase();
    // A configured (not emulated) provider: these instances never call it.
    const config = parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_unused", PASSWORD_HASH_COST: "standard" });
    one = await startServices(config, { database: shared.first });
    two = await startServices(config, { database: shared.second });
  });
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    await shared?.close();
  });

  test("failed logins counted on one instance limit the same email and address on the other", async () => {
    const email = demo("stripe").email;
    const address = "203.0.113.50";
    const attempt = (services: Services, password: string) =>
      services.auth.login(
        new Request(`${APP}/login`, { method: "POST", body: new URLSearchParams({ email, password }) }),
        address,
      );
    for (const services of [one, two, one, two, one]) {
      expect(await attempt(services, "not-the-password")).toMatchObject({ ok: false, error: "Invalid email or password." });
    }
    for (const services of [two, one]) {
      const refused = await attempt(services, DEMO_PASSWORD);
      expect(refused).toMatchObject({ ok: false, refusal: { status: 429 } });
    }
  });
});
