import { RouterContextProvider } from "react-router";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase } from "../../../tests/database.ts";
import { createAuth, type Auth } from "~/auth/auth.server.ts";
import { hashPassword } from "~/auth/password.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import * as login from "./login.tsx";
import * as logout from "./logout.tsx";
import * as signup from "./signup.tsx";
import { get, post } from "../../../tests/requests.ts";

// The routes get `auth` from the composition root; here it is one built by createAuth on a test database.
const services = vi.hoisted(() => ({
  auth: undefined as unknown as Auth,
  services: { config: { seedDemoData: true } },
}));
const defaultConfig = { ...services.services.config };
vi.mock("~/services.server.ts", () => services);

const PASSWORD = "portal-demo-pass";
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  services.auth = createAuth({ prisma, read: database.read, sessionSecrets: ["test-session-secret-0123456789abcdef"], secureCookie: false });
  await prisma.user.create({
    data: { email: "stripe@demo.test", password: { create: { hash: await hashPassword(PASSWORD) } } },
  });
});
afterAll(() => database?.close());
beforeEach(() => prisma.session.deleteMany());
// A test that changes the configuration gets it back even when it fails half-way.
afterEach(() => {
  services.services.config = { ...defaultConfig };
});

/** What React Router passes a loader or action, as far as these routes look. */
function args<T>(request: Request, context = new RouterContextProvider()): T {
  return { request, params: {}, context } as T;
}

/** A route's answer: a Response (redirect) or `data()`'s { data, init }. */
async function settle(run: () => Promise<unknown>): Promise<{ status: number; headers: Headers; data?: unknown }> {
  const outcome = await run().catch((thrown: unknown) => thrown);
  if (outcome instanceof Response) return { status: outcome.status, headers: outcome.headers };
  const { data, init } = outcome as { data: unknown; init?: ResponseInit };
  return { status: init?.status ?? 200, headers: new Headers(init?.headers), data };
}

async function signedInCookie(): Promise<string> {
  const { headers } = await settle(() => login.action(args(post("/login", { email: "stripe@demo.test", password: PASSWORD }))));
  return headers.get("Set-Cookie")!.split(";")[0]!;
}

describe("POST /login", () => {
  it("redirects to redirectTo with the session cookie", async () => {
    const response = await settle(() =>
      login.action(args(post("/login", { email: "stripe@demo.test", password: PASSWORD, redirectTo: "/account?tab=billing" }))),
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/account?tab=billing");
    expect(response.headers.get("Set-Cookie")).toMatch(/^__session=[^;]+;/);
  });

  it("goes to /account when redirectTo is missing or leads off this app", async () => {
    const locations: Record<string, string | null> = {};
    for (const redirectTo of ["", "//evil.test/phish", "https://evil.test", "/\\evil.test"]) {
      const fields = { email: "stripe@demo.test", password: PASSWORD, ...(redirectTo ? { redirectTo } : {}) };
      locations[redirectTo] = (await settle(() => login.action(args(post("/login", fields))))).headers.get("Location");
    }
    expect(locations).toEqual({ "": "/account", "//evil.test/phish": "/account", "https://evil.test": "/account", "/\\evil.test": "/account" });
  });

  it("answers wrong credentials with 400, the generic message and the email, and no cookie", async () => {
    for (const email of ["stripe@demo.test", "nobody@demo.test"]) {
      const response = await settle(() => login.action(args(post("/login", { email, password: "wrong-password!" }))));
      expect(response.status).toBe(400);
      expect(response.data).toEqual({ error: "Invalid email or password.", email });
      expect(response.headers.get("Set-Cookie")).toBeNull();
    }
  });
});

describe("bodies that are not forms", () => {
  const notForms: [string, RequestInit][] = [
    ["empty JSON", { headers: { "Content-Type": "application/json" }, body: "" }],
    ["a JSON object", { headers: { "Content-Type": "application/json" }, body: '{"email":"stripe@demo.test"}' }],
    ["no Content-Type and no body", {}],
    ["a broken multipart body", { headers: { "Content-Type": "multipart/form-data; boundary=x" }, body: "--x\r\nnope" }],
  ];

  it.each(notForms)("login answers %s with 400 and the generic message, not 500", async (_name, init) => {
    const response = await settle(() => login.action(args(new Request("http://localhost/login", { method: "POST", ...init }))));
    expect(response.status).toBe(400);
    expect(response.data).toMatchObject({ error: "Invalid email or password." });
  });

  it.each(notForms)("signup answers %s with 400 and a message, not 500", async (_name, init) => {
    const response = await settle(() => signup.action(args(new Request("http://localhost/signup", { method: "POST", ...init }))));
    expect(response.status).toBe(400);
    expect(response.data).toMatchObject({ error: "We could not read that form. Please fill it in and try again." });
  });
});

describe("GET /login", () => {
  it("keeps a safe redirectTo for the form's hidden field and drops a hostile one", async () => {
    expect(await login.loader(args(get("/login?redirectTo=%2Faccount")))).toMatchObject({ redirectTo: "/account" });
    expect(await login.loader(args(get("/login?redirectTo=%2F%2Fevil.test")))).toMatchObject({ redirectTo: "" });
  });

  it("lists the demo users where they exist, so a visitor can try the app", async () => {
    expect(await login.loader(args(get("/login")))).toMatchObject({ demoEmails: expect.arrayContaining(["stripe@demo.test"]) });
    services.services.config.seedDemoData = false;
    expect(await login.loader(args(get("/login")))).toMatchObject({ demoEmails: null });
  });

  it("sends someone already signed in to their account", async () => {
    expect((await settle(() => login.loader(args(get("/login"))))).status).toBe(200);
    const signedIn = await settle(async () => login.loader(args(get("/login", await signedInCookie()))));
    expect(signedIn.headers.get("Location")).toBe("/account");
  });
});

describe("POST /signup", () => {
  it("creates the account and redirects to /account with the session cookie", async () => {
    const response = await settle(() =>
      signup.action(args(post("/signup", { email: "new@example.test", password: "a-long-enough-password" }))),
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/account");
    const cookie = response.headers.get("Set-Cookie")!.split(";")[0]!;
    expect(await services.auth.getUser(get("/account", cookie))).toMatchObject({ email: "new@example.test" });
  });

  it("a plan chosen on the pricing page comes back after signing up; anything but a catalogue plan is dropped", async () => {
    const withPlan = await settle(() =>
      signup.action(args(post("/signup", { email: "chose-pro@example.test", password: "a-long-enough-password", plan: "pro" }))),
    );
    expect(withPlan.headers.get("Location")).toBe("/pricing?plan=pro");
    for (const plan of ["//evil.test", "platinum", "pro\r\nSet-Cookie: x=1", "<script>"]) {
      const response = await settle(() =>
        signup.action(args(post("/signup", { email: `chose-${Math.random().toString(36).slice(2)}@example.test`, password: "a-long-enough-password", plan }))),
      );
      expect(response.headers.get("Location")).toBe("/account");
    }
    // The signup page keeps a catalogue plan for its form, and the login page hands it to "Create an account".
    expect(((await signup.loader(args(get("/signup?plan=pro")))) as { chosenPlan: unknown }).chosenPlan).toBe("pro");
    expect(((await signup.loader(args(get("/signup?plan=%3Cb%3E")))) as { chosenPlan: unknown }).chosenPlan).toBeNull();
    expect(((await login.loader(args(get(`/login?redirectTo=${encodeURIComponent("/pricing?plan=starter")}`)))) as { chosenPlan: unknown }).chosenPlan).toBe("starter");
    expect(((await login.loader(args(get(`/login?redirectTo=${encodeURIComponent("/pricing?plan=gold")}`)))) as { chosenPlan: unknown }).chosenPlan).toBeNull();
  });

  it("answers invalid fields with 400 and one error per field", async () => {
    const response = await settle(() => signup.action(args(post("/signup", { email: "stripe@demo.test", password: "a-long-enough-password" }))));
    expect(response.status).toBe(400);
    expect(response.data).toEqual({
      email: "stripe@demo.test",
      fieldErrors: { email: ["An account with this email already exists."] },
    });
    const invalid = await settle(() => signup.action(args(post("/signup", { email: "x", password: "short" }))));
    expect(invalid.status).toBe(400);
    expect(invalid.data).toMatchObject({ fieldErrors: { email: [expect.any(String)], password: [expect.any(String)] } });
  });
});

describe("/logout", () => {
  it("POST ends the session, clears the cookie and goes home", async () => {
    const cookie = await signedInCookie();
    const response = await settle(() => logout.action(args(post("/logout", {}, cookie))));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/");
    expect(response.headers.get("Set-Cookie")).toMatch(/^__session=;.*Max-Age=0/i);
    expect(await services.auth.getUser(get("/account", cookie))).toBeNull();
  });

  it("GET changes nothing and goes home", async () => {
    const cookie = await signedInCookie();
    const response = await settle(() => logout.loader());
    expect(response.headers.get("Location")).toBe("/");
    expect(response.headers.get("Set-Cookie")).toBeNull();
    expect(await services.auth.getUser(get("/account", cookie))).not.toBeNull();
  });
});
