import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { parseConfig } from "~/config/env.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import type { RecordedRequest } from "../emulator/provider-emulator.ts";
import { createTestDatabase } from "./database.ts";
import { startEmulatorProcess, stopProcess } from "./support/emulator-process.ts";

// `npm run emulator` as its own process, and app services pointed at it with PAYMENT_EMULATOR_URL,
// as several instances and the benchmark use it.

const APP = "http://app.test";
let emulatorProcess: ChildProcess;
let emulatorOrigin: string;

beforeAll(async () => {
  ({ child: emulatorProcess, origin: emulatorOrigin } = await startEmulatorProcess({ APP_URL: APP }));
}, 30_000);

afterAll(() => stopProcess(emulatorProcess));

async function emulatorRequests(provider: ProviderId): Promise<RecordedRequest[]> {
  return (await fetch(`${emulatorOrigin}/__emulator/requests?provider=${provider}`)).json();
}

async function startApp(provider: ProviderId, extra: Record<string, string> = {}): Promise<Services> {
  const config = parseConfig({
    APP_ENV: "test",
    APP_URL: APP,
    PAYMENT_PROVIDER: provider,
    PAYMENT_EMULATOR: "1",
    PAYMENT_EMULATOR_URL: emulatorOrigin,
    ...extra,
  });
  return startServices(config, { database: await createTestDatabase() });
}

async function openPortal(services: Services, provider: ProviderId): Promise<Response> {
  const email = DEMO_ACCOUNTS.find((account) => account.customer?.provider === provider)!.email;
  const login = await services.auth.login(
    new Request(`${APP}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password: DEMO_PASSWORD }),
    }),
  );
  if (!login.ok) throw new Error(`could not sign in ${email}`);
  const cookie = login.headers.get("Set-Cookie")!.split(";")[0]!;
  const request = new Request(`${APP}/api/payments/portal`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie },
    body: JSON.stringify({ returnUrl: "/account" }),
  });
  return services.handlePortalRequest(request, "json");
}

describe("an app pointed at a shared emulator with PAYMENT_EMULATOR_URL", { timeout: 30_000 }, () => {
  test.each(PROVIDER_IDS)("opens a %s portal at that emulator, starting none of its own", async (provider) => {
    const services = await startApp(provider);
    try {
      expect(services.emulator).toBeNull();
      const before = (await emulatorRequests(provider)).length;

      const response = await openPortal(services, provider);

      expect(response.status).toBe(200);
      const { url } = await response.json();
      expect(new URL(url).origin).toBe(emulatorOrigin);
      expect((await emulatorRequests(provider)).length).toBe(before + 1);
    } finally {
      await services.stop();
    }
  });

  test("a failing provider opens the circuit: the portal answers 503 with Retry-After without calling it", async () => {
    const services = await startApp("polar");
    try {
      await fetch(`${emulatorOrigin}/__emulator/failures`, {
        method: "POST",
        body: JSON.stringify({ provider: "polar", status: 500, times: 10 }),
      });
      for (let failed = 0; failed < 5; failed++) expect((await openPortal(services, "polar")).status).toBe(502);
      const callsWhenOpened = (await emulatorRequests("polar")).length;

      const refused = await openPortal(services, "polar");

      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({ error: "Payment provider is unavailable", code: "provider_circuit_open" });
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(30);
      expect((await emulatorRequests("polar")).length).toBe(callsWhenOpened);
    } finally {
      await fetch(`${emulatorOrigin}/__emulator/reset`, { method: "POST" });
      await services.stop();
    }
  });

  test("the standalone emulator stops cleanly on SIGTERM", async () => {
    const { child, origin } = await startEmulatorProcess();
    expect((await fetch(`${origin}/__emulator/requests`)).status).toBe(200);
    expect(await stopProcess(child)).toBe(0);
    await expect(fetch(`${origin}/__emulator/requests`)).rejects.toThrow("fetch failed");
  });
});
