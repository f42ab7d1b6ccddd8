import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { DEMO_EMAIL, DEMO_PASSWORD } from "./arbitraries.ts";
import { hostileUrls, legitimatePaths } from "./hostile-urls.ts";
import { type Client, createClient, redirectTarget, signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

const PORT = 5430;
/** The app's origin, known before it starts: the cases are listed when the file loads. */
const ORIGIN = `http://localhost:${PORT}`;

/** A sign-in hashes its password with a memory-hard KDF; on two shared cores a few at once take a while. */
const SIGN_IN_TIMEOUT_MS = 30_000;

let app: RunningApp;
let client: Client;
let cookie: string;
const secrets = new Set<string>([DEMO_PASSWORD]);

beforeAll(async () => {
  // This server answers a hundred sign-ins and portal openings from one address in a few seconds:
  // the limits (tested on their own) are off here so that every payload reaches the policy.
  app = await startApp({
    port: PORT,
    env: { RATE_LIMIT_LOGIN_PER_ADDRESS: "0", RATE_LIMIT_LOGIN_FAILURES: "0", RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0" },
  });
  client = createClient(app.origin);
  cookie = await signIn(client, app.origin, DEMO_EMAIL, DEMO_PASSWORD);
  for (const part of cookieSecrets(cookie)) secrets.add(part);
});

afterAll(async () => {
  client?.close();
  await app?.stop();
});

checkLogOfEachTest(() => app, () => secrets);

const payloads = () => hostileUrls(ORIGIN).map((payload) => [JSON.stringify(payload).slice(0, 80), payload] as const);
const paths = () => legitimatePaths().map((path) => [path, path] as const);

function openPortal(door: "/api/payments/portal" | "/billing/portal", returnUrl: string, contentType: "json" | "form") {
  return client.send({
    method: "POST",
    path: door,
    headers: {
      Origin: app.origin,
      Cookie: cookie,
      "Content-Type": contentType === "json" ? "application/json" : "application/x-www-form-urlencoded",
    },
    body: Buffer.from(contentType === "json" ? JSON.stringify({ returnUrl }) : new URLSearchParams({ returnUrl }).toString()),
  });
}

function logIn(redirectTo: string) {
  return client.send({
    method: "POST",
    path: "/login",
    headers: { Origin: app.origin, "Content-Type": "application/x-www-form-urlencoded" },
    body: Buffer.from(new URLSearchParams({ email: DEMO_EMAIL, password: DEMO_PASSWORD, redirectTo }).toString()),
  });
}

test("the list holds at least 60 hostile URLs", () => {
  expect(app.origin).toBe(ORIGIN);
  expect(new Set(hostileUrls(ORIGIN)).size).toBeGreaterThanOrEqual(60);
});

describe("a hostile returnUrl is refused by the portal", () => {
  test.each(payloads())("JSON door: %s is 400 Invalid return URL", async (_name, payload) => {
    const response = await openPortal("/api/payments/portal", payload, "json");
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: "Invalid return URL" });
    expect(response.headers.location).toBeUndefined();
  });

  test.each(payloads())("form door: %s leads back to the account page", async (_name, payload) => {
    const response = await openPortal("/billing/portal", payload, "form");
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe("/account");
  });
});

// Each sign-in spends a memory-hard hash: a few at a time.
describe.concurrent("a hostile redirectTo on a good sign-in leads to the account page on this app", () => {
  test.each(payloads())("%s", { timeout: SIGN_IN_TIMEOUT_MS }, async (_name, payload) => {
    const response = await logIn(payload);
    expect([302, 303]).toContain(response.status);
    const target = redirectTarget(response, app.origin);
    expect(target?.origin).toBe(app.origin);
    expect(response.headers.location).toBe("/account");
    for (const part of cookieSecrets(response.headers["set-cookie"]?.[0]?.split(";")[0] ?? "")) secrets.add(part);
  });
});

describe("a hostile redirectTo in the login page's address is not carried into its form", () => {
  test.each(payloads())("%s", async (_name, payload) => {
    const response = await client.send({ method: "GET", path: `/login?${new URLSearchParams({ redirectTo: payload })}`, headers: {} });
    expect(response.status).toBe(200);
    expect(response.body).not.toContain('name="redirectTo"');
  });
});

describe("the paths the app itself uses are accepted by every door", () => {
  test.each(paths())("the portal returns to %s", async (_name, path) => {
    const response = await openPortal("/api/payments/portal", path, "json");
    expect(response.status).toBe(200);
    const url = new URL((JSON.parse(response.body) as { url: string }).url);
    expect(app.portalOrigins).toContain(url.origin);
    secrets.add(url.href);
  });

  test.each(paths())("a sign-in leads to %s", { timeout: SIGN_IN_TIMEOUT_MS }, async (_name, path) => {
    const response = await logIn(path);
    expect([302, 303]).toContain(response.status);
    expect(redirectTarget(response, app.origin)?.href).toBe(new URL(path, app.origin).href);
    for (const part of cookieSecrets(response.headers["set-cookie"]?.[0]?.split(";")[0] ?? "")) secrets.add(part);
  });

  test.each(paths())("the login page keeps %s for after the sign-in", async (_name, path) => {
    const response = await client.send({ method: "GET", path: `/login?${new URLSearchParams({ redirectTo: path })}`, headers: {} });
    expect(response.status).toBe(200);
    expect(response.body).toContain('name="redirectTo"');
  });

  test("the portal returns to this app's own absolute URL", async () => {
    const response = await openPortal("/api/payments/portal", `${app.origin}/account?tab=billing`, "json");
    expect(response.status).toBe(200);
  });
});
