import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { startApp, type RunningApp } from "../server/test-support.ts";
import { startEmulatorProcess, stopProcess } from "./support/emulator-process.ts";

/**
 * Several production instances on one PostgreSQL database, as behind a load
 * balancer: two started at the same moment on an empty database, one shared
 * emulator process, and a client that goes round-robin. It needs a
 * PostgreSQL server (TEST_DATABASE_URL), so it runs in CI's second pass.
 */
const serverUrl = process.env.TEST_DATABASE_URL;
const PORTS = [7611, 7612];
const SECRET = "multi-instance-session-secret-0123456789abcdef";

describe.skipIf(!serverUrl)("two production instances on one PostgreSQL database", { timeout: 60_000 }, () => {
  const databaseName = `multi_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  let emulator: { child: ChildProcess; origin: string };
  let instances: RunningApp[] = [];
  let next = 0;
  /** The next instance, round-robin, as a load balancer would pick. */
  const roundRobin = () => instances[next++ % instances.length]!;

  beforeAll(async () => {
    await admin((client) => client.query(`CREATE DATABASE ${databaseName}`));
    const databaseUrl = new URL(serverUrl!);
    databaseUrl.pathname = `/${databaseName}`;
    emulator = await startEmulatorProcess();
    const env = {
      APP_ENV: "production",
      APP_URL: "http://app.multi.test",
      SESSION_SECRET: SECRET,
      DATABASE_URL: databaseUrl.href,
      DATABASE_POOL_SIZE: "4",
      PAYMENT_PROVIDER: "stripe",
      // In production the emulator means a demo: the demo users are seeded, by every instance at once here.
      PAYMENT_EMULATOR: "1",
      PAYMENT_EMULATOR_URL: emulator.origin,
    };
    // The same moment, the same empty database: migrations and the demo seed race.
    const started = await Promise.allSettled(PORTS.map((port) => startApp(port, env)));
    instances = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(instances.map((app) => app.stop()));
    if (emulator) await stopProcess(emulator.child);
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`));
  });

  test("both instances start, serve and are ready; the demo users exist once", async () => {
    for (const app of instances) {
      expect((await fetch(`${app.address}/readyz`)).status).toBe(200);
      expect(app.process.exitCode).toBeNull();
    }
    const counted = await inDatabase((client) => client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "User" WHERE email LIKE '%@demo.test'`));
    expect(counted.rows[0]!.n).toBe(DEMO_ACCOUNTS.length);
  });

  test("a user who signs up on one instance is signed in on the other", async () => {
    const email = `multi-${randomUUID().slice(0, 8)}@example.test`;
    const [first, second] = [roundRobin(), roundRobin()];
    const signup = await post(first, "/signup", { email, password: "a-long-enough-password" });
    expect(signup.status).toBe(302);
    const cookie = sessionCookie(signup);

    const account = await get(second, "/account", cookie);
    expect(account.status).toBe(200);
    expect(await account.text()).toContain(email);
  });

  test("logging out on one instance ends the session on both", async () => {
    const email = `multi-${randomUUID().slice(0, 8)}@example.test`;
    const [first, second] = [roundRobin(), roundRobin()];
    const cookie = sessionCookie(await post(first, "/signup", { email, password: "a-long-enough-password" }));
    expect((await get(second, "/account", cookie)).status).toBe(200);

    expect((await post(second, "/logout", {}, cookie)).status).toBeLessThan(400);
    for (const app of instances) {
      const account = await get(app, "/account", cookie);
      expect(account.status).toBe(302);
      expect(account.headers.get("Location")).toMatch(/^\/login/);
    }
  });

  test("failed logins count across instances: the sixth attempt is refused on either", async () => {
    const email = `multi-${randomUUID().slice(0, 8)}@example.test`;
    const password = "the-right-password";
    sessionCookie(await post(roundRobin(), "/signup", { email, password }));
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await post(roundRobin(), "/login", { email, password: "a-wrong-password" })).status).toBe(400);
    }
    for (const app of instances) {
      const refused = await post(app, "/login", { email, password });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    }
  });

  test("SIGTERM lets every request the instance accepted finish, and the other instance keeps serving", async () => {
    const [leaving, staying] = instances as [RunningApp, RunningApp];
    const cookie = sessionCookie(await post(leaving, "/login", { email: "stripe@demo.test", password: DEMO_PASSWORD }));
    // Each portal call waits a second at the provider, so they are all in flight when the signal comes.
    const inFlight = 6;
    const failures = await fetch(`${emulator.origin}/__emulator/failures`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ provider: "stripe", delayMs: 1000, times: inFlight }),
    });
    expect(failures.ok).toBe(true);
    const answers = Array.from({ length: inFlight }, () =>
      fetch(`${leaving.address}/api/payments/portal`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: cookie },
        body: "{}",
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { url?: string } })),
    );
    await waitFor(async () => (await emulatorRequestCount()) >= inFlight);

    const exitCode = leaving.stop();
    const settled = await Promise.all(answers);
    expect(settled.map((answer) => answer.status)).toEqual(Array(inFlight).fill(200));
    for (const answer of settled) expect(new URL(answer.body.url!).origin).toBe(emulator.origin);
    expect(await exitCode).toBe(0);

    expect((await fetch(`${staying.address}/readyz`)).status).toBe(200);
    expect((await get(staying, "/account", cookie)).status).toBe(200);
  });

  async function emulatorRequestCount(): Promise<number> {
    const response = await fetch(`${emulator.origin}/__emulator/requests?provider=stripe`);
    const body = (await response.json()) as unknown[] | { requests?: unknown[] };
    return (Array.isArray(body) ? body : (body.requests ?? [])).length;
  }

  function inDatabase<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const url = new URL(serverUrl!);
    url.pathname = `/${databaseName}`;
    return withClient(url.href, work);
  }
});

function post(app: RunningApp, path: string, fields: Record<string, string>, cookie?: string): Promise<Response> {
  return fetch(`${app.address}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...(cookie ? { Cookie: cookie } : {}) },
    body: new URLSearchParams(fields),
  });
}

function get(app: RunningApp, path: string, cookie: string): Promise<Response> {
  return fetch(`${app.address}${path}`, { redirect: "manual", headers: { Cookie: cookie } });
}

function sessionCookie(response: Response): string {
  const cookie = response.headers.getSetCookie().find((value) => value.startsWith("__session="));
  if (!cookie) throw new Error(`no session cookie (status ${response.status})`);
  return cookie.split(";")[0]!;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  return withClient(serverUrl!, work);
}

async function withClient<T>(connectionString: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
