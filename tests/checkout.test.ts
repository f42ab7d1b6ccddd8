import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { DEMO_PLAN_PROVIDER_IDS, DEMO_LEMONSQUEEZY_STORE_ID } from "~/billing/plans.ts";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";

// SPEC "Plans and checkout", for each provider, through the real SDKs. The emulator's checkout endpoints
// are being built alongside (issue 7); until they land, the SDKs talk to a small recording server here
// (PAYMENT_EMULATOR_URL), which answers as each provider does and keeps what reached it, so these tests
// see exactly what each SDK sends.

const APP = "http://app.test";
const CHECKOUT_URL = "https://checkout.provider.test/session/abc";

type Recorded = { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string };

let server: Server;
let origin: string;
let recorded: Recorded[] = [];
/** Answers the next calls with a 500 (Stripe retries once, so two). */
let failuresLeft = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      if (req.url === "/__emulator/webhooks") {
        res.writeHead(404).end();
        return;
      }
      recorded.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500, { "Content-Type": "application/json" }).end(JSON.stringify({ error: { message: "Something broke" } }));
        return;
      }
      // Each provider's success answer, as its SDK expects it.
      if (req.url === "/v1/checkout/sessions") {
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ id: "cs_test_1", object: "checkout.session", url: CHECKOUT_URL }));
      } else if (req.url === "/v1/checkouts/") {
        res.writeHead(201, { "Content-Type": "application/json" }).end(JSON.stringify({ id: "polar-checkout-1", url: CHECKOUT_URL }));
      } else if (req.url === "/v1/checkouts") {
        res
          .writeHead(201, { "Content-Type": "application/vnd.api+json" })
          .end(JSON.stringify({ jsonapi: { version: "1.0" }, data: { type: "checkouts", id: "ls-1", attributes: { url: CHECKOUT_URL } } }));
      } else {
        res.writeHead(404, { "Content-Type": "application/json" }).end("{}");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  recorded = [];
  failuresLeft = 0;
});

async function signUp(services: Services, email: string): Promise<{ cookie: string; userId: string }> {
  const result = await services.auth.signup(
    new Request(`${APP}/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password: "a-long-enough-password" }),
    }),
  );
  if (!result.ok) throw new Error("could not sign up");
  return { cookie: result.headers.get("Set-Cookie")!.split(";")[0]!, userId: result.user.id };
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

function formPost(cookie: string | null, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return new Request(`${APP}/billing/checkout`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: APP, ...(cookie ? { Cookie: cookie } : {}), ...headers },
    body: new URLSearchParams(fields),
  });
}

function jsonPost(cookie: string | null, body: unknown) {
  return new Request(`${APP}/api/payments/checkout`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(cookie ? { Cookie: cookie } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Where each SDK put the app's user id and the rest of the checkout, read off the wire. */
function checkoutOnTheWire(provider: ProviderId, request: Recorded) {
  if (provider === "stripe") {
    const form = new URLSearchParams(request.body);
    return {
      userIds: [form.get("client_reference_id"), form.get("metadata[user_id]"), form.get("subscription_data[metadata][user_id]")],
      email: form.get("customer_email"),
      customer: form.get("customer"),
      plan: form.get("line_items[0][price]"),
      mode: form.get("mode"),
      successUrl: form.get("success_url"),
    };
  }
  const json = JSON.parse(request.body);
  if (provider === "polar") {
    return { userIds: [json.external_customer_id], email: json.customer_email, plan: json.products?.[0], successUrl: json.success_url };
  }
  const { attributes, relationships } = json.data;
  return {
    userIds: [attributes.checkout_data?.custom?.user_id],
    email: attributes.checkout_data?.email,
    plan: relationships.variant.data.id,
    store: relationships.store.data.id,
    successUrl: attributes.product_options?.redirect_url,
  };
}

const PROVIDER_SPECIFIC: Record<ProviderId, object> = {
  stripe: { mode: "subscription", customer: null },
  polar: {},
  lemonsqueezy: { store: DEMO_LEMONSQUEEZY_STORE_ID },
};

describe.each(PROVIDER_IDS)("checkout with %s active", (provider) => {
  let services: Services;
  const handle = (request: Request, door: "form-or-json" | "json" = "form-or-json") => services.handleCheckoutRequest(request, door);
  let users = 0;
  const newUser = () => signUp(services, `checkout-${provider}-${++users}@example.test`);

  beforeAll(async () => {
    services = await startServices(
      // Each test signs up its own users from one address: the sign-up limit is not what is tested here.
      parseConfig({
        APP_ENV: "test",
        APP_URL: APP,
        PAYMENT_PROVIDER: provider,
        PAYMENT_EMULATOR: "1",
        PAYMENT_EMULATOR_URL: origin,
        RATE_LIMIT_SIGNUP_PER_HOUR: "0",
      }),
      { database: await createTestDatabase() },
    );
  }, 60_000);
  afterAll(() => services.stop());

  test("a new user's form post goes to the provider's hosted checkout, carrying their user id", async () => {
    const { cookie, userId } = await newUser();
    const response = await handle(formPost(cookie, { plan: "pro" }));

    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe(CHECKOUT_URL);
    expect(recorded).toHaveLength(1);
    const wire = checkoutOnTheWire(provider, recorded[0]!);
    expect(wire.userIds).toEqual(wire.userIds.map(() => userId));
    expect(wire.userIds.length).toBe(provider === "stripe" ? 3 : 1);
    expect(wire.email).toBe(`checkout-${provider}-${users}@example.test`);
    expect(wire.plan).toBe(DEMO_PLAN_PROVIDER_IDS[provider].pro);
    expect(wire.successUrl).toBe(`${APP}/account?checkout=success`);
    // What only some providers take: Stripe's subscription mode and new-customer email, Lemon Squeezy's store.
    expect(wire).toMatchObject(PROVIDER_SPECIFIC[provider]);
  });

  test("a JSON client gets 200 {url} for {plan}", async () => {
    const { cookie } = await newUser();
    const response = await handle(jsonPost(cookie, { plan: "starter" }), "json");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ url: CHECKOUT_URL });
    expect(checkoutOnTheWire(provider, recorded[0]!).plan).toBe(DEMO_PLAN_PROVIDER_IDS[provider].starter);
  });

  test.runIf(provider === "stripe")("a user who already has a Stripe customer checks out as that customer", async () => {
    const { cookie, userId } = await newUser();
    await services.database.prisma.customer.create({ data: { userId, provider: "stripe", providerCustomerId: "cus_Returning" } });
    await handle(formPost(cookie, { plan: "pro" }));
    expect(checkoutOnTheWire(provider, recorded[0]!)).toMatchObject({ customer: "cus_Returning", email: null });
  });

  test("signed out: the form goes to login and back to pricing, JSON gets 401", async () => {
    const form = await handle(formPost(null, { plan: "pro" }));
    expect(form.status).toBe(303);
    expect(form.headers.get("Location")).toBe("/login?redirectTo=%2Fpricing");
    const json = await handle(jsonPost(null, { plan: "pro" }), "json");
    expect(json.status).toBe(401);
    expect(await json.json()).toMatchObject({ error: "Unauthorized" });
    expect(recorded).toHaveLength(0);
  });

  test.each([
    ["not JSON", "{plan", "Invalid request body"],
    ["no plan", {}, "Invalid request body"],
    ["a plan that is not a string", { plan: 7 }, "Invalid request body"],
    ["an unknown plan", { plan: "platinum" }, "Unknown plan"],
  ])("a body with %s gets 400 and no provider call", async (_name, body, error) => {
    const { cookie } = await newUser();
    const response = await handle(jsonPost(cookie, body), "json");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error });
    expect(recorded).toHaveLength(0);
  });

  test("an unknown plan on the form goes back to pricing with a message", async () => {
    const { cookie } = await newUser();
    const response = await handle(formPost(cookie, { plan: "platinum" }));
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/pricing");
    const { message } = await services.flash.take(new Request(`${APP}/pricing`, { headers: { Cookie: response.headers.get("Set-Cookie")!.split(";")[0]! } }));
    expect(message).toContain("plan does not exist");
  });

  test("a user with a live subscription at the active provider gets 409, and the form goes to the account page", async () => {
    const account = DEMO_ACCOUNTS.find((demo) => demo.customer?.provider === provider && demo.subscription?.status === "active")!;
    const cookie = await signIn(services, account.email);
    const json = await handle(jsonPost(cookie, { plan: "pro" }), "json");
    expect(json.status).toBe(409);
    expect(await json.json()).toMatchObject({ error: "Already subscribed" });
    const form = await handle(formPost(cookie, { plan: "starter" }));
    expect(form.headers.get("Location")).toBe("/account");
    expect(recorded).toHaveLength(0);
  });

  test("a user whose subscription ended may subscribe again", async () => {
    const { cookie, userId } = await newUser();
    await services.database.prisma.subscription.create({
      data: { userId, provider, providerSubscriptionId: `ended-${userId}`, providerCustomerId: "x", status: "canceled", providerUpdatedAt: new Date() },
    });
    expect((await handle(jsonPost(cookie, { plan: "pro" }), "json")).status).toBe(200);
  });

  test("a provider failure is the portal's answer: 502 with a safe message", async () => {
    const { cookie } = await newUser();
    failuresLeft = 2;
    const response = await handle(jsonPost(cookie, { plan: "pro" }), "json");
    expect(response.status).toBe(502);
    const body = await response.json();
    expect(body.error).toMatch(/^Payment provider/);
    expect(JSON.stringify(body)).not.toContain("Something broke");
  });

  test("cross-site posts get 403, other methods 405, bodies over 64 KiB 413, with no provider call", async () => {
    const { cookie } = await newUser();
    expect((await handle(formPost(cookie, { plan: "pro" }, { Origin: "https://evil.test" }))).status).toBe(403);
    const get = await handle(new Request(`${APP}/billing/checkout`, { headers: { Cookie: cookie } }));
    expect(get.status).toBe(405);
    expect(get.headers.get("Allow")).toBe("POST");
    expect((await handle(jsonPost(cookie, { plan: "pro", padding: "x".repeat(65 * 1024) }), "json")).status).toBe(413);
    expect(recorded).toHaveLength(0);
  });
});
