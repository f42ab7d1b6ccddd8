import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { EMULATOR_ONLY_CUSTOMER_IDS, startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";

const APP_RETURN_URL = "http://app.test/account";
const STRIPE_KEY = "sk_test_emulatorSecret4242";
const POLAR_TOKEN = "polar_oat_emulatorSecret4242";
const LEMON_KEY = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJlbXUifQ.emulatorSecret4242";
const [stella, paul, lena] = DEMO_ACCOUNTS;

let emulator: ProviderEmulator;
let clock: number;

beforeAll(async () => {
  emulator = await startProviderEmulator({ appReturnUrl: APP_RETURN_URL, now: () => clock });
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.reset();
  clock = Date.now();
});

function stripeSession(form: Record<string, string>, key: string | null = STRIPE_KEY) {
  return fetch(`${emulator.origin}/v1/billing_portal/sessions`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "stripe-version": "2026-10-28.endive",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: new URLSearchParams(form),
  });
}

function polarSession(body: object, token = POLAR_TOKEN) {
  return fetch(`${emulator.origin}/v1/customer-sessions/`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

function lemonCustomer(id: string, key = LEMON_KEY) {
  return fetch(`${emulator.origin}/v1/customers/${id}`, {
    headers: { accept: "application/vnd.api+json", "content-type": "application/vnd.api+json", authorization: `Bearer ${key}` },
  });
}

async function portalPage(url: string) {
  const response = await fetch(url, { redirect: "manual" });
  return { status: response.status, headers: response.headers, html: await response.text() };
}

describe("Stripe API", () => {
  it("answers a full billing_portal.session for a known customer", async () => {
    const response = await stripeSession({ customer: stella.customer.providerCustomerId, return_url: APP_RETURN_URL });
    expect(response.status).toBe(200);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    expect(response.headers.get("stripe-version")).toBe("2026-10-28.endive");
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^bps_/),
      object: "billing_portal.session",
      after_expiration: null,
      configuration: expect.stringMatching(/^bpc_/),
      created: expect.any(Number),
      customer: stella.customer.providerCustomerId,
      customer_account: null,
      flow: null,
      livemode: false,
      locale: null,
      on_behalf_of: null,
      return_url: APP_RETURN_URL,
      url: expect.stringMatching(new RegExp(`^${emulator.origin}/portal/stripe/p/session/test_`)),
    });
  });

  it("refuses a request without an API key with Stripe's 401 envelope", async () => {
    const response = await stripeSession({ customer: stella.customer.providerCustomerId }, null);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { type: "invalid_request_error", message: expect.stringContaining("You did not provide an API key") },
    });
  });

  it("never echoes a refused key", async () => {
    const response = await stripeSession({ customer: stella.customer.providerCustomerId }, "pk_test_publishableKey");
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain("publishableKey");
  });

  it("answers resource_missing for an unknown customer", async () => {
    const response = await stripeSession({ customer: "cus_x" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "customer",
        message: "No such customer: 'cus_x'",
        doc_url: "https://stripe.com/docs/error-codes/resource-missing",
      },
    });
  });

  it("requires a customer and refuses unknown parameters", async () => {
    expect((await (await stripeSession({})).json()).error).toMatchObject({ code: "parameter_missing", param: "customer" });
    const unknown = await stripeSession({ customer: stella.customer.providerCustomerId, colour: "red" });
    expect((await unknown.json()).error).toMatchObject({ code: "parameter_unknown", param: "colour" });
  });

  it("refuses an account without a default portal configuration unless one is passed", async () => {
    const customer = EMULATOR_ONLY_CUSTOMER_IDS.stripeWithoutPortalConfiguration;
    const refused = await stripeSession({ customer });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(
      /^No configuration provided and your test mode default configuration has not been created\./,
    );

    const configured = await stripeSession({ customer, configuration: "bpc_Explicit1" });
    expect(configured.status).toBe(200);
    expect((await configured.json()).configuration).toBe("bpc_Explicit1");
  });
});

describe("Polar API", () => {
  it("answers 201 with a full CustomerSession", async () => {
    const response = await polarSession({ customer_id: paul.customer.providerCustomerId, return_url: APP_RETURN_URL });
    expect(response.status).toBe(201);
    const session = await response.json();
    expect(session).toEqual({
      id: expect.any(String),
      token: expect.stringMatching(/^polar_cst_/),
      created_at: expect.any(String),
      modified_at: null,
      expires_at: expect.any(String),
      return_url: APP_RETURN_URL,
      customer_portal_url: expect.stringContaining(`${emulator.origin}/portal/polar/`),
      customer_id: paul.customer.providerCustomerId,
      customer: expect.objectContaining({
        id: paul.customer.providerCustomerId,
        email: paul.email,
        name: paul.name,
        type: "individual",
        billing_address: null,
        tax_id: null,
        deleted_at: null,
      }),
    });
    expect(session.customer_portal_url).toContain(`customer_session_token=${session.token}`);
    expect(Date.parse(session.expires_at)).toBeGreaterThan(Date.parse(session.created_at));
  });

  it("finds a customer by external id too", async () => {
    const response = await polarSession({ external_customer_id: paul.email });
    expect(response.status).toBe(201);
    expect((await response.json()).customer_id).toBe(paul.customer.providerCustomerId);
  });

  it("answers 422 with a detail array for an unknown customer", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    const response = await polarSession({ customer_id: unknown });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      detail: [{ loc: ["body", "customer_id"], msg: "Customer does not exist.", type: "value_error", input: unknown }],
    });
  });

  it("refuses a token that is not a Polar token", async () => {
    const response = await polarSession({ customer_id: paul.customer.providerCustomerId }, STRIPE_KEY);
    expect(response.status).toBe(401);
  });
});

describe("Lemon Squeezy API", () => {
  it("answers a JSON:API customer document with exactly the 17 attributes and links to the real API", async () => {
    const response = await lemonCustomer(lena.customer.providerCustomerId);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/vnd.api+json");
    const document = await response.json();
    const self = `https://api.lemonsqueezy.com/v1/customers/${lena.customer.providerCustomerId}`;
    expect(document.links.self).toBe(self);
    expect(document.data).toMatchObject({ type: "customers", id: lena.customer.providerCustomerId, links: { self } });
    expect(Object.keys(document.data.attributes).toSorted()).toEqual(
      [
        "store_id", "name", "email", "status", "city", "region", "country", "total_revenue_currency", "mrr",
        "status_formatted", "country_formatted", "total_revenue_currency_formatted", "mrr_formatted", "urls",
        "created_at", "updated_at", "test_mode",
      ].toSorted(),
    );
    for (const name of ["store", "orders", "subscriptions", "license-keys"]) {
      expect(document.data.relationships[name].links).toEqual({
        related: `${self}/${name}`,
        self: `${self}/relationships/${name}`,
      });
    }
    expect(document.data.attributes.urls.customer_portal).toMatch(/expires=\d+&signature=[0-9a-f]{64}$/);
  });

  it("has no portal URL for a customer without a subscription", async () => {
    const response = await lemonCustomer(EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezyWithoutSubscription);
    expect((await response.json()).data.attributes.urls).toEqual({ customer_portal: null });
  });

  it("answers a JSON:API 404 for an unknown customer", async () => {
    const response = await lemonCustomer("1");
    expect(response.status).toBe(404);
    expect(response.statusText).toBe("Not Found");
    expect(await response.json()).toEqual({
      jsonapi: { version: "1.0" },
      errors: [{ detail: expect.any(String), status: "404", title: "Not Found" }],
    });
  });

  it("refuses a key that is not a Lemon Squeezy key", async () => {
    const response = await lemonCustomer(lena.customer.providerCustomerId, POLAR_TOKEN);
    expect(response.status).toBe(401);
    expect((await response.json()).errors[0]).toMatchObject({ status: "401", title: "Unauthorized" });
  });
});

describe("hosted portal pages", () => {
  it("names the provider and the customer and links back to the session's return URL", async () => {
    const returnUrl = "http://app.test/account?from=portal&x=<y>";
    const session = await (await stripeSession({ customer: stella.customer.providerCustomerId, return_url: returnUrl })).json();

    const page = await portalPage(session.url);

    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.html).toContain("Stripe customer portal");
    expect(page.html).toContain(stella.name);
    expect(page.html).toContain(stella.email);
    expect(page.html).toContain(stella.customer.providerCustomerId);
    expect(page.html).toContain(`<a href="http://app.test/account?from=portal&#38;x=&#60;y&#62;">Return to the app</a>`);
  });

  it("links Polar's page back to its return URL", async () => {
    const returnUrl = "http://app.test/account?from=polar";
    const session = await (await polarSession({ customer_id: paul.customer.providerCustomerId, return_url: returnUrl })).json();
    const page = await portalPage(session.customer_portal_url);
    expect(page.html).toContain("Polar customer portal");
    expect(page.html).toContain(paul.name);
    expect(page.html).toContain(`href="${returnUrl}"`);
  });

  it("links Lemon Squeezy's page, which has no return URL, back to the app", async () => {
    const document = await (await lemonCustomer(lena.customer.providerCustomerId)).json();
    const page = await portalPage(document.data.attributes.urls.customer_portal);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Lemon Squeezy customer portal");
    expect(page.html).toContain(lena.email);
    expect(page.html).toContain(`href="${APP_RETURN_URL}"`);
  });

  it("answers 404 for a token it never issued", async () => {
    const page = await portalPage(`${emulator.origin}/portal/stripe/p/session/test_guessed`);
    expect(page.status).toBe(404);
    expect(page.html).toContain("not valid");
  });

  it("answers 404 for a tampered Lemon Squeezy signature", async () => {
    const document = await (await lemonCustomer(lena.customer.providerCustomerId)).json();
    const url = new URL(document.data.attributes.urls.customer_portal);
    url.pathname = url.pathname.replace(lena.customer.providerCustomerId, EMULATOR_ONLY_CUSTOMER_IDS.lemonSqueezySecondSubscriber);
    expect((await portalPage(url.href)).status).toBe(404);
  });

  it("answers 410 once a link has expired", async () => {
    const session = await (await stripeSession({ customer: stella.customer.providerCustomerId })).json();
    const document = await (await lemonCustomer(lena.customer.providerCustomerId)).json();
    clock += 24 * 60 * 60 * 1000;

    expect((await portalPage(session.url)).status).toBe(410);
    expect((await portalPage(document.data.attributes.urls.customer_portal)).status).toBe(410);
  });

  it("issues a different unguessable token for every session", async () => {
    const customer = stella.customer.providerCustomerId;
    const first = await (await stripeSession({ customer })).json();
    const second = await (await stripeSession({ customer })).json();
    expect(first.url).not.toBe(second.url);
    expect(first.url.split("test_")[1]).toMatch(/^[\w-]{32}$/);
  });
});

describe("failure injection and request log", () => {
  it("fails the next calls as asked over HTTP, then answers normally again", async () => {
    const queued = await fetch(`${emulator.origin}/__emulator/failures`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ provider: "polar", retryAfterSeconds: 9, times: 2 }),
    });
    expect(queued.status).toBe(201);

    const body = { customer_id: paul.customer.providerCustomerId };
    for (let call = 0; call < 2; call++) {
      const limited = await polarSession(body);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("9");
    }
    expect((await polarSession(body)).status).toBe(201);
  });

  it("answers a malformed body and the provider's own error shape for a status", async () => {
    emulator.failNext("lemonsqueezy", { malformed: true });
    emulator.failNext("lemonsqueezy", { status: 500 });

    const malformed = await lemonCustomer(lena.customer.providerCustomerId);
    expect(malformed.status).toBe(200);
    await expect(malformed.clone().json()).rejects.toThrow(SyntaxError);

    const failed = await lemonCustomer(lena.customer.providerCustomerId);
    expect(failed.status).toBe(500);
    expect((await failed.json()).errors[0]).toMatchObject({ status: "500", title: "Internal Server Error" });
  });

  it("holds an answer back for the requested delay", async () => {
    emulator.failNext("stripe", { delayMs: 150 });
    const started = Date.now();
    const response = await stripeSession({ customer: stella.customer.providerCustomerId });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("refuses an invalid failure request", async () => {
    const response = await fetch(`${emulator.origin}/__emulator/failures`, {
      method: "POST",
      body: JSON.stringify({ provider: "paypal", status: 500 }),
    });
    expect(response.status).toBe(400);
    expect(() => emulator.failNext("stripe", { status: 99 })).toThrow(TypeError);
  });

  it("lists what arrived per provider, without any credential", async () => {
    await stripeSession({ customer: stella.customer.providerCustomerId, return_url: APP_RETURN_URL });
    await polarSession({ customer_id: paul.customer.providerCustomerId });

    const response = await fetch(`${emulator.origin}/__emulator/requests?provider=stripe`);
    const listed = await response.json();
    expect(listed).toEqual([
      expect.objectContaining({
        provider: "stripe",
        method: "POST",
        path: "/v1/billing_portal/sessions",
        body: { customer: stella.customer.providerCustomerId, return_url: APP_RETURN_URL },
      }),
    ]);
    expect(listed[0].headers.authorization).toBe("Bearer [redacted]");
    expect(JSON.stringify(emulator.requests())).not.toMatch(/emulatorSecret4242/);
    expect(emulator.requests("polar")).toHaveLength(1);
  });

  it("forgets failures and requests on reset", async () => {
    emulator.failNext("stripe", { status: 500 });
    await stripeSession({ customer: stella.customer.providerCustomerId });
    emulator.failNext("stripe", { status: 500 });

    expect((await fetch(`${emulator.origin}/__emulator/reset`, { method: "POST" })).status).toBe(204);

    expect(emulator.requests()).toEqual([]);
    expect((await stripeSession({ customer: stella.customer.providerCustomerId })).status).toBe(200);
  });
});
