import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { captureLog } from "./support/log-capture.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import type { ProviderSettings } from "~/billing/providers/registry.server.ts";
import { type Config, parseConfig } from "~/config/env.server.ts";
import type { Database } from "~/db/database.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { EMULATOR_ONLY_CUSTOMER_IDS } from "../emulator/provider-emulator.ts";
import { createTestDatabase, keptOpen } from "./database.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

// Every row of the SPEC's billing-portal table, through the same request
// handler both routes use, for each provider, against the real SDKs talking
// HTTP to the local emulator and a real (embedded or server) database.

const APP = "http://app.test";
const PORTAL = `${APP}/billing/portal`;
const API = `${APP}/api/payments/portal`;

function demoEmail(provider: ProviderId) {
  return DEMO_ACCOUNTS.find((account) => account.customer?.provider === provider)!.email;
}

async function signIn(services: Services, email: string): Promise<string> {
  const result = await services.auth.login(
    new Request(`${APP}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password: DEMO_PASSWORD }),
    }),
  );
  if (!result.ok) throw new Error(`could not sign in ${email}`);
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

function formPost(cookie: string | null, fields: Record<string, string> = { returnUrl: "/account" }, url = PORTAL) {
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", Origin: APP };
  if (cookie) headers.Cookie = cookie;
  return new Request(url, { method: "POST", headers, body: new URLSearchParams(fields) });
}

function jsonPost(cookie: string | null, body: unknown = { returnUrl: "/account" }, url = API) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (cookie) headers.Cookie = cookie;
  return new Request(url, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** A new user whose customer row points at `providerCustomerId`; returns their session cookie. */
async function signUpCustomer(services: Services, provider: ProviderId, providerCustomerId: string): Promise<string> {
  const email = `customer-${providerCustomerId}@example.test`;
  const result = await services.auth.signup(
    new Request(`${APP}/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password: "another-long-password" }),
    }),
  );
  if (!result.ok) throw new Error("could not sign up");
  await services.database.prisma.customer.create({ data: { organizationId: personalOrganizationId(result.user.id), provider, providerCustomerId } });
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

/** The one-time message a form post left for the account page. */
async function flashMessage(services: Services, response: Response): Promise<string | null> {
  const cookie = response.headers.get("Set-Cookie")?.split(";")[0];
  if (!cookie) return null;
  const { message } = await services.flash.take(new Request(`${APP}/account`, { headers: { Cookie: cookie } }));
  return message;
}

describe.each(PROVIDER_IDS)("billing portal with %s active", (provider) => {
  let services: Services;
  let cookie: string;
  /** Lemon Squeezy caches portal URLs, so its failures are driven with a customer that never got one. */
  let uncachedCookie: string;
  const handle = (request: Request, door: "form-or-json" | "json" = "form-or-json") =>
    services.handlePortalRequest(request, door);

  let config: Config;
  let database: Database;

  beforeAll(async () => {
    const parsed = parseConfig({
      APP_ENV: "test",
      APP_URL: APP,
      PAYMENT_PROVIDER: provider,
      PAYMENT_EMULATOR: "1",
      PAYMENT_TIMEOUT_MS: "800",
      // Every row here must reach the provider; the provider-call limit has its own tests (tests/rate-limits.test.ts).
      RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0",
    });
    // Nor may one row's provider failures open the circuit for the rows after it (five failed calls in a row do, for
    // 30 s, whichever rows made them): the breaker has its own tests (resilience.server.test.ts,
    // shared-emulator.test.ts), and tests set its thresholds through ProviderSettings.resilience (ADR 009).
    const billing: Config["billing"] & Pick<ProviderSettings, "resilience"> = {
      ...parsed.billing,
      resilience: { breakerFailures: Number.POSITIVE_INFINITY },
    };
    config = { ...parsed, billing };
    database = await createTestDatabase();
    services = await startServices(config, { database: keptOpen(database) });
    cookie = await signIn(services, demoEmail(provider));
    uncachedCookie =
      provider === "lemonsqueezy"
        ? await signUpCustomer(services, provider, EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezySecondSubscriber)
        : cookie;
  });
  afterAll(async () => {
    await services.stop();
    await database.close();
  });
  afterEach(() => services.emulator!.reset());

  const providerCalls = () => services.emulator!.requests(provider).length;

  describe("success", () => {
    test("a form post is sent on to the customer's portal with a 303", async () => {
      // Lemon Squeezy's adapter keeps the portal URL it fetched for each customer as long as the services run, and
      // answers another open from it without a provider call: this row's call needs an adapter that has fetched none,
      // so new services (on the same database: the sessions stay) with their own adapter.
      if (provider === "lemonsqueezy") {
        await services.stop();
        services = await startServices(config, { database: keptOpen(database) });
      }
      const response = await handle(formPost(cookie, { returnUrl: "/account?tab=billing" }));
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get("Location")!);
      expect(location.origin).toBe(services.emulator!.origin);
      expect(location.origin).not.toBe(APP);

      const [call] = services.emulator!.requests(provider);
      const { customer } = DEMO_ACCOUNTS.find((a) => a.customer?.provider === provider)!;
      // Lemon Squeezy's API takes no return URL: the request names the customer only. The others
      // receive the return URL as an absolute URL on this app.
      const expected =
        provider === "lemonsqueezy"
          ? [`/v1/customers/${customer!.providerCustomerId}`]
          : [customer!.providerCustomerId, `${APP}/account?tab=billing`];
      const wire = JSON.stringify({ path: call!.path, body: call!.body });
      for (const part of expected) expect(wire).toContain(part);
    });

    test("a JSON client gets 200 {url} on both paths, and the portal page names the customer", async () => {
      for (const [request, door] of [
        [jsonPost(cookie), "json"],
        [jsonPost(cookie, { returnUrl: "/account" }, PORTAL), "form-or-json"],
      ] as const) {
        const response = await handle(request, door);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { url: string };
        expect(Object.keys(body)).toEqual(["url"]);
        const page = await (await fetch(body.url)).text();
        const account = DEMO_ACCOUNTS.find((a) => a.customer?.provider === provider)!;
        expect(page).toContain(account.customer!.providerCustomerId);
      }
    });

    test("Accept: application/json on a form post gets the JSON answer", async () => {
      const request = formPost(cookie);
      request.headers.set("Accept", "application/json");
      const response = await handle(request);
      expect(response.status).toBe(200);
      expect(await response.json()).toHaveProperty("url");
    });
  });

  describe("refusals before any provider call", () => {
    test("no session: the form goes to login, JSON gets 401", async () => {
      const form = await handle(formPost(null));
      expect(form.status).toBe(303);
      expect(form.headers.get("Location")).toBe("/login?redirectTo=%2Faccount");

      const json = await handle(jsonPost(null), "json");
      expect(json.status).toBe(401);
      expect(await json.json()).toEqual({ error: "Unauthorized", code: "unauthenticated" });

      const forged = await handle(jsonPost("__session=forged.value"), "json");
      expect(forged.status).toBe(401);
      expect(providerCalls()).toBe(0);
    });

    test.each([
      ["not JSON", "{returnUrl:"],
      ["a JSON array", "[]"],
      ["a JSON string", '"hello"'],
      ["null", "null"],
      ["a number as returnUrl", { returnUrl: 42 }],
      ["an object as returnUrl", { returnUrl: { href: "/account" } }],
    ])("a body that is %s gets 400 Invalid request body", async (_name, body) => {
      const response = await handle(jsonPost(cookie, body), "json");
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: "Invalid request body", code: "invalid_body" });
      expect(providerCalls()).toBe(0);
    });

    test("the JSON door takes JSON only", async () => {
      const response = await handle(formPost(cookie, { returnUrl: "/account" }, API), "json");
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "Invalid request body" });
    });

    test("an unreadable form goes back to the account page with a message", async () => {
      const body = new FormData();
      body.set("returnUrl", new Blob(["x"]), "file.txt");
      const request = new Request(PORTAL, { method: "POST", headers: { Cookie: cookie, Origin: APP }, body });
      const response = await handle(request);
      expect(response.status).toBe(303);
      expect(response.headers.get("Location")).toBe("/account");
      expect(await flashMessage(services, response)).toMatch(/could not be read/);
    });

    test.each(["https://evil.test/", "//evil.test", "/\\evil.test", "javascript:alert(1)"])(
      "returnUrl %s is refused",
      async (returnUrl) => {
        const json = await handle(jsonPost(cookie, { returnUrl }), "json");
        expect(json.status).toBe(400);
        expect(await json.json()).toEqual({ error: "Invalid return URL", code: "invalid_return_url" });

        const form = await handle(formPost(cookie, { returnUrl }));
        expect(form.status).toBe(303);
        expect(form.headers.get("Location")).toBe("/account");
        expect(await flashMessage(services, form)).toMatch(/return address is not allowed/);
        expect(providerCalls()).toBe(0);
      },
    );

    test("a user without a customer row gets 404 No customer found", async () => {
      const nobody = await signIn(services, "nobody@demo.test");
      const json = await handle(jsonPost(nobody), "json");
      expect(json.status).toBe(404);
      expect(await json.json()).toEqual({ error: "No customer found", code: "no_customer" });

      const form = await handle(formPost(nobody));
      expect(form.headers.get("Location")).toBe("/account");
      expect(await flashMessage(services, form)).toMatch(/^Billing is not set up for this account yet/);
    });

    test("a customer of another provider gets the mismatch error", async () => {
      const other = DEMO_ACCOUNTS.find((a) => a.customer && a.customer.provider !== provider)!;
      const otherCookie = await signIn(services, other.email);
      const json = await handle(jsonPost(otherCookie), "json");
      expect(json.status).toBe(400);
      expect(await json.json()).toEqual({
        error: `Customer provider (${other.customer!.provider}) does not match active provider (${provider})`,
        code: "provider_mismatch",
      });
      expect(providerCalls()).toBe(0);
    });

    test("cross-site posts get 403 and change nothing", async () => {
      for (const headers of [{ Origin: "https://evil.test" }, { "Sec-Fetch-Site": "cross-site" }, { Origin: "null" }]) {
        const request = formPost(cookie);
        request.headers.delete("Origin");
        for (const [name, value] of Object.entries(headers)) request.headers.set(name, value);
        const response = await handle(request);
        expect(response.status).toBe(403);
      }
      expect(providerCalls()).toBe(0);
    });

    test("other methods get 405 with Allow: POST", async () => {
      for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
        const response = await handle(new Request(PORTAL, { method, headers: { Cookie: cookie } }));
        expect(response.status).toBe(405);
        expect(response.headers.get("Allow")).toBe("POST");
      }
    });

    test("bodies over 64 KiB get 413, declared or not", async () => {
      const big = JSON.stringify({ returnUrl: "/account", padding: "x".repeat(70 * 1024) });
      expect((await handle(jsonPost(cookie, big), "json")).status).toBe(413);

      const streamed = new Request(API, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: cookie },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(big));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(streamed.headers.get("Content-Length")).toBeNull();
      expect((await handle(streamed, "json")).status).toBe(413);
      expect(providerCalls()).toBe(0);
    });
  });

  describe("provider failures", () => {
    test("a provider error (500) is 502 with a short safe message, and the form gets a sentence", async () => {
      services.emulator!.failNext(provider, {
        status: 500,
        times: 6,
        body: { error: { message: "internal: db shard 7 down, key sk_test_leak" } },
      });
      const logged = captureLog();
      const json = await handle(jsonPost(uncachedCookie), "json");
      expect(json.status).toBe(502);
      const text = await json.text();
      expect(JSON.parse(text)).toEqual({ error: "Payment provider is unavailable", code: "provider_unavailable" });

      const form = await handle(formPost(uncachedCookie));
      expect(form.headers.get("Location")).toBe("/account");
      expect(await flashMessage(services, form)).toMatch(/not answering right now/);

      const logText = logged.text();
      logged.restore();
      expect(logText).toContain("billing.portal.provider_failure");
      for (const secret of ["db shard", "sk_test", "Internal Server Error", "at "]) {
        expect(logText).not.toContain(secret);
        expect(text).not.toContain(secret);
      }
    });

    test("a rate limit is 503 with Retry-After where the provider gives one", async () => {
      services.emulator!.failNext(provider, { status: 429, retryAfterSeconds: 17, times: 3 });
      const response = await handle(jsonPost(uncachedCookie), "json");
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: "Payment provider is busy", code: "provider_rate_limited" });
      expect(response.headers.get("Retry-After")).toBe("17");
    });

    test("a provider that does not answer in time is 504", async () => {
      services.emulator!.failNext(provider, { delayMs: 3000, times: 3 });
      const response = await handle(jsonPost(uncachedCookie), "json");
      expect(response.status).toBe(504);
      expect(await response.json()).toEqual({ error: "Payment provider timed out", code: "provider_timeout" });
    });

    test("a malformed answer is 502, never a crash", async () => {
      services.emulator!.failNext(provider, { malformed: true, times: 3 });
      const response = await handle(jsonPost(uncachedCookie), "json");
      expect(response.status).toBe(502);
    });
  });

  test("anything unexpected is 500 Internal Server Error for JSON, and an error page for the form", async () => {
    const failing = vi.spyOn(services.database, "read").mockRejectedValue(new Error("boom at db"));
    const logged = captureLog();
    const json = await handle(jsonPost(cookie), "json");
    expect(json.status).toBe(500);
    expect(await json.json()).toEqual({ error: "Internal Server Error" });
    await expect(handle(formPost(cookie))).rejects.toThrow("boom at db");
    const logText = logged.text();
    logged.restore();
    failing.mockRestore();
    expect(logText).toContain("billing.portal.unexpected_error");
    expect(logText).not.toContain("boom");
  });
});

describe("provider-specific answers", { timeout: 30_000 }, () => {
  test("Stripe without a saved portal configuration is 503 'not configured'", async () => {
    const services = await startServices(
      parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: "stripe", PAYMENT_EMULATOR: "1" }),
      { database: await createTestDatabase() },
    );
    try {
      const cookie = await signIn(services, "stripe@demo.test");
      await services.database.prisma.customer.updateMany({
        where: { provider: "stripe", organization: { memberships: { some: { user: { email: "stripe@demo.test" } } } } },
        data: { providerCustomerId: EMULATOR_ONLY_CUSTOMER_IDS.stripeWithoutPortalConfiguration },
      });
      const response = await services.handlePortalRequest(jsonPost(cookie), "json");
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: "Billing portal is not configured", code: "provider_not_configured" });
    } finally {
      await services.stop();
    }
  });

  test("Lemon Squeezy: a repeat click costs no API call, and a customer who never subscribed is told so", async () => {
    const services = await startServices(
      parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_PROVIDER: "lemonsqueezy", PAYMENT_EMULATOR: "1" }),
      { database: await createTestDatabase() },
    );
    try {
      const cookie = await signIn(services, "lemon@demo.test");
      const first = (await (await services.handlePortalRequest(jsonPost(cookie), "json")).json()) as { url: string };
      const second = (await (await services.handlePortalRequest(jsonPost(cookie), "json")).json()) as { url: string };
      expect(second.url).toBe(first.url);
      expect(services.emulator!.requests("lemonsqueezy")).toHaveLength(1);

      const nobody = await signIn(services, "nobody@demo.test");
      const user = await services.auth.getUser(new Request(APP, { headers: { Cookie: nobody } }));
      await services.database.prisma.customer.create({
        data: {
          organizationId: personalOrganizationId(user!.id),
          provider: "lemonsqueezy",
          providerCustomerId: EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezyWithoutSubscription,
        },
      });
      const response = await services.handlePortalRequest(jsonPost(nobody), "json");
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ code: "provider_no_portal" });
      // Different customers never share a cached URL.
      expect(services.emulator!.requests("lemonsqueezy")).toHaveLength(2);
    } finally {
      await services.stop();
    }
  });
});
