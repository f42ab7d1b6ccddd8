import { createHmac } from "node:crypto";
import { webhooks as polarWebhooks } from "@polar-sh/sdk/2026-10";
import { Stripe } from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_SUBSCRIPTIONS } from "./demo-subscriptions.ts";
import { APP, lemonSqueezyClient, openCheckout, pay, startReceiver, verify, type Receiver } from "./lifecycle-test-kit.ts";
import { startProviderEmulator, type ProviderEmulator } from "./provider-emulator.ts";
import { signedHeaders } from "./webhook-signing.ts";

let emulator: ProviderEmulator;
let receiver: Receiver;
let undoLemonSqueezyRouting: () => void;

beforeAll(async () => {
  emulator = await startProviderEmulator({
    appReturnUrl: `${APP}/account`,
    webhooks: { retryDelaysMs: [20, 50, 100], attemptTimeoutMs: 2500, waitForDeliveryMs: 300 },
  });
  receiver = await startReceiver();
  undoLemonSqueezyRouting = lemonSqueezyClient(emulator);
});
afterAll(async () => {
  undoLemonSqueezyRouting();
  await emulator.close();
  await receiver.close();
});
beforeEach(async () => {
  await emulator.lifecycle.delivery.idle();
  emulator.reset();
  receiver.reset();
});

function control(path: string, body?: object) {
  return fetch(`${emulator.origin}/__emulator/${path}`, {
    method: body ? "POST" : "GET",
    headers: { "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

describe("webhook registration", () => {
  it("answers the emulator's own secrets, each of its provider's shape, when the app has none configured", async () => {
    const response = await control("webhooks", { url: `${APP}/webhooks` });
    expect(response.status).toBe(200);
    const { secrets } = await response.json();
    expect(secrets.stripe).toMatch(/^whsec_\w+$/);
    expect(secrets.polar).toEqual(expect.any(String));
    expect(secrets.lemonsqueezy.length).toBeGreaterThanOrEqual(6);
    expect(secrets.lemonsqueezy.length).toBeLessThanOrEqual(40);
    // Stable for the process: a second app instance registering gets the same ones.
    expect((await (await control("webhooks", { url: `${APP}/webhooks` })).json()).secrets).toEqual(secrets);
  });

  it("echoes the app's configured secrets and signs with them", async () => {
    const configured = { stripe: "whsec_configuredByTheApp", polar: "polar-configured", lemonsqueezy: "lemon-configured" };
    const { secrets } = await (await control("webhooks", { url: receiver.url, secrets: { lemonsqueezy: configured.lemonsqueezy } })).json();
    expect(secrets.lemonsqueezy).toBe(configured.lemonsqueezy);
    const all = await (await control("webhooks", { url: receiver.url, secrets: configured })).json();
    expect(all.secrets).toEqual(configured);

    await pay(await openCheckout(emulator, "lemonsqueezy", "user_configured"));
    await emulator.lifecycle.delivery.idle();
    await expect(verify(receiver.received[0]!, configured)).resolves.toMatchObject({ meta: { event_name: "order_created" } });
  });

  it("refuses a registration without an http URL or with a Lemon Squeezy secret it would not accept", async () => {
    expect((await control("webhooks", {})).status).toBe(400);
    expect((await control("webhooks", { url: "javascript:alert(1)" })).status).toBe(400);
    const short = await control("webhooks", { url: receiver.url, secrets: { lemonsqueezy: "abc" } });
    expect(short.status).toBe(400);
    expect((await short.json()).error).toContain("6 to 40");
  });

  it("delivers to the most recent registration", async () => {
    const first = await startReceiver();
    try {
      emulator.lifecycle.registerWebhooks(first.url);
      const secrets = emulator.lifecycle.registerWebhooks(receiver.url);
      await pay(await openCheckout(emulator, "polar", "user_latest"));
      await emulator.lifecycle.delivery.idle();
      expect(first.received).toHaveLength(0);
      expect(receiver.received.length).toBeGreaterThan(0);
      await verify(receiver.received[0]!, secrets);
    } finally {
      await first.close();
    }
  });
});

describe("delivery and retries", () => {
  it("retries a delivery the app answered 500, with the same body, until the app accepts it", async () => {
    const secrets = emulator.lifecycle.registerWebhooks(receiver.url);
    receiver.answerWith(500, 503);
    // Switching plan sends Stripe a single event, so the receiver's answers all go to it.
    await emulator.lifecycle.act("stripe", DEMO_SUBSCRIPTIONS[0].subscriptionId, { action: "switch_plan" });
    await emulator.lifecycle.delivery.idle();

    const [first] = emulator.lifecycle.delivery.list();
    expect(first!.attempts.map((attempt) => attempt.status)).toEqual([500, 503, 200]);
    expect(first!.state).toBe("delivered");
    const copies = receiver.received.filter((webhook) => JSON.parse(webhook.body).id === first!.eventId);
    expect(copies).toHaveLength(3);
    expect(new Set(copies.map((webhook) => webhook.body)).size).toBe(1);
    for (const copy of copies) await verify(copy, secrets);
  });

  it("gives up after the provider's number of retries and records every answer", async () => {
    emulator.lifecycle.registerWebhooks(receiver.url);
    receiver.answerWith(500, 500, 500, 500);
    await emulator.lifecycle.act("polar", DEMO_SUBSCRIPTIONS[1].subscriptionId, { action: "switch_plan" });
    await emulator.lifecycle.delivery.idle();

    const [first] = emulator.lifecycle.delivery.list();
    expect(first!.attempts.map((attempt) => attempt.status)).toEqual([500, 500, 500, 500]);
    expect(first!.state).toBe("failed");
  });

  it("retries after a network error (nothing listening)", async () => {
    const gone = await startReceiver();
    await gone.close();
    emulator.lifecycle.registerWebhooks(gone.url);
    await emulator.lifecycle.act("stripe", DEMO_SUBSCRIPTIONS[0].subscriptionId, { action: "switch_plan" });
    await emulator.lifecycle.delivery.idle();

    const [first] = emulator.lifecycle.delivery.list();
    expect(first!.attempts).toHaveLength(4);
    expect(first!.attempts.every((attempt) => attempt.error === "connection failed")).toBe(true);
  });

  it("does not hold the checkout page while the app hangs, and delivers in the background", async () => {
    emulator.lifecycle.registerWebhooks(receiver.url);
    receiver.answerWith(0); // the first delivery never gets an answer
    const started = Date.now();
    const response = await pay(await openCheckout(emulator, "stripe", "user_hung_app"));

    expect(response.status).toBe(303);
    expect(Date.now() - started).toBeLessThan(2000); // a hang guard: the page waits 300 ms, the hung attempt 2500 ms
    await emulator.lifecycle.delivery.idle();
    const [first] = emulator.lifecycle.delivery.list();
    expect(first!.attempts[0]!.error).toBe("timeout");
    expect(first!.state).toBe("delivered");
  });

  it("lists deliveries and their answers over /__emulator/deliveries, by provider and subscription", async () => {
    emulator.lifecycle.registerWebhooks(receiver.url);
    receiver.answerWith(500);
    await emulator.lifecycle.renew("lemonsqueezy", DEMO_SUBSCRIPTIONS[2].subscriptionId, "paid");
    await emulator.lifecycle.delivery.idle();

    const response = await control(`deliveries?provider=lemonsqueezy&subscription=${DEMO_SUBSCRIPTIONS[2].subscriptionId}`);
    const deliveries = await response.json();
    expect(deliveries.map((delivery: { type: string }) => delivery.type)).toEqual(["subscription_payment_success", "subscription_updated"]);
    expect(deliveries[0]).toMatchObject({ url: `${receiver.url}/lemonsqueezy`, state: "delivered", signature: "valid" });
    expect(deliveries[0].attempts.map((attempt: { status: number }) => attempt.status)).toEqual([500, 200]);
    expect(await (await control("deliveries?provider=stripe")).json()).toEqual([]);
    expect((await control("deliveries?provider=paypal")).status).toBe(400);
  });
});

describe("bad signatures", () => {
  it.each([
    ["stripe", Stripe.errors.StripeSignatureVerificationError],
    ["polar", polarWebhooks.PolarWebhookVerificationError],
    ["lemonsqueezy", Error],
  ] as const)("a %s delivery signed on purpose with a wrong secret does not verify", async (provider, refusal) => {
    const secrets = emulator.lifecycle.registerWebhooks(receiver.url);
    const demo = DEMO_SUBSCRIPTIONS.find((candidate) => candidate.provider === provider)!;
    const response = await control(`subscriptions/${provider}/${demo.subscriptionId}/bad-signature`, {});
    expect(response.status).toBe(200);
    expect((await response.json()).deliveries[0]).toMatchObject({ signature: "invalid" });

    const webhook = receiver.received[0]!;
    await expect(verify(webhook, secrets)).rejects.toBeInstanceOf(refusal);
    // Only the signature is wrong: the body is a real event about the subscription.
    expect(webhook.body).toContain(`"${demo.subscriptionId}"`);
  });
});

describe("signing schemes", () => {
  it("Polar signs `id.timestamp.body` with the secret's UTF-8 bytes, base64, as Standard Webhooks", () => {
    const headers = signedHeaders("polar", "polar_whs_secret", { id: "msg_1", body: "{}", eventName: "x", timestamp: 1_800_000_000 });
    const expected = createHmac("sha256", "polar_whs_secret").update("msg_1.1800000000.{}").digest("base64");
    expect(headers).toMatchObject({ "webhook-id": "msg_1", "webhook-timestamp": "1800000000", "webhook-signature": `v1,${expected}` });
  });

  it("a Stripe delivery with a stale timestamp fails Stripe's own tolerance check", () => {
    const headers = signedHeaders("stripe", "whsec_x", { id: "evt_1", body: "{}", eventName: "x", timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(() => Stripe.webhooks.constructEvent("{}", headers["stripe-signature"]!, "whsec_x")).toThrow(/tolerance/);
  });
});
