import { RouterContextProvider } from "react-router";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createAuth, type Auth } from "~/auth/auth.server.ts";
import { createPasswordHashing, PasswordHashingBusyError } from "~/auth/password-hashing.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { requestInfoContext } from "~/http/request-info.ts";
import { createRateLimits, type RateLimits } from "~/rate-limits/rate-limits.server.ts";
import { countingKdf, letRateLimitWindowsPass } from "../../../tests/counting-kdf.ts";
import { createTestDatabase } from "../../../tests/database.ts";
import { post } from "../../../tests/requests.ts";
import * as login from "./login.tsx";
import * as signup from "./signup.tsx";

// SPEC "Rate limits" for login and signup, through the route actions as React Router calls them:
// the client address comes from the request-info context, the counters from the database.

const services = vi.hoisted(() => ({
  auth: undefined as unknown as Auth,
  services: { config: { seedDemoData: false } },
}));
vi.mock("~/services.server.ts", () => services);

const PASSWORD = "portal-demo-pass";
const EMAIL = "stella@example.test";
const HOME = "203.0.113.7";
const CAFE = "198.51.100.20";
/** Small enough to reach in a test, distinct so a test shows which limit refused. */
const LIMITS = {
  loginFailuresPerEmailAndAddress: 5,
  loginAttemptsPerAddress: 12,
  signupsPerAddressPerHour: 2,
  providerCallsPerUserPerMinute: 0,
  passwordResetsPerEmailPerHour: 0,
  passwordResetsPerAddressPerHour: 0,
};

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let rateLimits: RateLimits;
const kdf = countingKdf({ cheap: true });

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  rateLimits = createRateLimits({ driver: database.driver, limits: LIMITS });
  const passwordHashing = createPasswordHashing({ deriveKey: kdf.deriveKey });
  services.auth = createAuth({
    prisma,
    read: database.read,
    sessionSecrets: ["test-session-secret-0123456789abcdef"],
    secureCookie: false,
    rateLimits,
    passwordHashing,
  });
  await prisma.user.create({ data: { email: EMAIL, password: { create: { hash: await passwordHashing.hash(PASSWORD) } } } });
});
afterAll(async () => {
  rateLimits?.stop();
  await database?.close();
});
beforeEach(() => prisma.rateLimit.deleteMany());

/** The arguments React Router passes an action, with the client address the server entry found. */
function args<T>(request: Request, clientAddress: string): T {
  const context = new RouterContextProvider();
  context.set(requestInfoContext, { requestId: "test", clientAddress });
  return { request, params: {}, context } as T;
}

type Answer = { status: number; headers: Headers; data?: { error?: string; email?: string } };

async function settle(run: () => Promise<unknown>): Promise<Answer> {
  const outcome = await run().catch((thrown: unknown) => thrown);
  if (outcome instanceof Response) return { status: outcome.status, headers: outcome.headers };
  const { data, init } = outcome as { data: Answer["data"]; init?: ResponseInit };
  return { status: init?.status ?? 200, headers: new Headers(init?.headers), data };
}

function logIn(address: string, password: string, email = EMAIL): Promise<Answer> {
  return settle(() => login.action(args(post("/login", { email, password }), address)));
}

function signUp(address: string, email: string): Promise<Answer> {
  return settle(() => signup.action(args(post("/signup", { email, password: "a-long-enough-password" }), address)));
}

async function failTimes(times: number, address: string, email = EMAIL) {
  for (let i = 0; i < times; i++) expect((await logIn(address, "not-the-password", email)).status).toBe(400);
}

function expectRefused(answer: Answer, maxSeconds: number) {
  expect(answer.status).toBe(429);
  const retryAfter = Number(answer.headers.get("Retry-After"));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds).toBe(true);
  expect(answer.headers.get("Set-Cookie")).toBeNull();
}

describe("login failures per email and address", () => {
  it("refuses the 6th attempt with 429 and Retry-After, the right password too, until the window passes", async () => {
    await failTimes(5, HOME);
    const runsBefore = kdf.runs();

    const sixth = await logIn(HOME, "not-the-password");
    expectRefused(sixth, 15 * 60);
    expect(sixth.data).toEqual({ error: "Too many sign-in attempts. Please try again in 15 minutes.", email: EMAIL });
    // React Router builds the page's headers with the route's `headers` export: Retry-After must survive it.
    const pageHeaders = new Headers(
      login.headers({ actionHeaders: sixth.headers, loaderHeaders: new Headers(), parentHeaders: new Headers() } as never),
    );
    expect(pageHeaders.get("Retry-After")).toBe(sixth.headers.get("Retry-After"));
    expectRefused(await logIn(HOME, PASSWORD), 15 * 60);
    // The refusals were cheap: no password hashing at all.
    expect(kdf.runs()).toBe(runsBefore);

    await letRateLimitWindowsPass(prisma);
    const later = await logIn(HOME, PASSWORD);
    expect(later.status).toBe(302);
    expect(later.headers.get("Set-Cookie")).toMatch(/^__session=/);
  });

  it("starts counting again after a successful login", async () => {
    await failTimes(4, HOME);
    expect((await logIn(HOME, PASSWORD)).status).toBe(302);
    await failTimes(5, HOME);
    expectRefused(await logIn(HOME, PASSWORD), 15 * 60);
  });

  it("does not hold one address's failures against another address", async () => {
    await failTimes(5, HOME);
    expectRefused(await logIn(HOME, PASSWORD), 15 * 60);
    expect((await logIn(CAFE, "not-the-password")).status).toBe(400);
    expect((await logIn(CAFE, PASSWORD)).status).toBe(302);
  });

  it("answers an unknown email exactly as a known one once limited, so the refusal tells nothing", async () => {
    const unknown = "nobody@example.test";
    await failTimes(5, HOME, unknown);
    await failTimes(5, HOME, EMAIL);
    const forUnknown = await logIn(HOME, "not-the-password", unknown);
    const forKnown = await logIn(HOME, "not-the-password", EMAIL);
    expectRefused(forUnknown, 15 * 60);
    expectRefused(forKnown, 15 * 60);
    expect(forUnknown.data?.error).toBe(forKnown.data?.error);
  });
});

describe("login attempts per address", () => {
  it("refuses any email from an address past its attempts, without hashing, while other addresses go on", async () => {
    // Spread over many emails, so the per-email limit never triggers.
    for (let i = 0; i < LIMITS.loginAttemptsPerAddress; i++) {
      expect((await logIn(HOME, "not-the-password", `guess-${i}@example.test`)).status).toBe(400);
    }
    const runsBefore = kdf.runs();
    expectRefused(await logIn(HOME, PASSWORD), 15 * 60);
    expect(kdf.runs()).toBe(runsBefore);
    expect((await logIn(CAFE, PASSWORD)).status).toBe(302);
  });
});

describe("signups per address", () => {
  it("refuses signups past the hourly cap with 429, Retry-After and a message on the page", async () => {
    expect((await signUp(HOME, "first@example.test")).status).toBe(302);
    expect((await signUp(HOME, "second@example.test")).status).toBe(302);
    const runsBefore = kdf.runs();

    const third = await signUp(HOME, "third@example.test");
    expectRefused(third, 60 * 60);
    const pageHeaders = new Headers(
      signup.headers({ actionHeaders: third.headers, loaderHeaders: new Headers(), parentHeaders: new Headers() } as never),
    );
    expect(pageHeaders.get("Retry-After")).toBe(third.headers.get("Retry-After"));
    expect(third.data?.error).toBe("Too many accounts were created from your network. Please try again in 60 minutes.");
    expect(kdf.runs()).toBe(runsBefore);
    expect(await prisma.user.count({ where: { email: "third@example.test" } })).toBe(0);

    expect((await signUp(CAFE, "third@example.test")).status).toBe(302);
  });
});

describe("password hashing at capacity", () => {
  it("answers 503 with Retry-After and does not count the attempt as a failure", async () => {
    const auth = services.auth;
    services.auth = createAuth({
      prisma,
      read: database.read,
      sessionSecrets: ["test-session-secret-0123456789abcdef"],
      secureCookie: false,
      rateLimits,
      passwordHashing: {
        hash: () => Promise.reject(new PasswordHashingBusyError()),
        verify: () => Promise.reject(new PasswordHashingBusyError()),
        needsRehash: () => false,
      },
    });
    try {
      for (let i = 0; i < 6; i++) {
        const busy = await logIn(HOME, PASSWORD);
        expect(busy.status).toBe(503);
        expect(Number(busy.headers.get("Retry-After"))).toBeGreaterThan(0);
        expect(busy.data?.error).toMatch(/try again in a moment/);
      }
    } finally {
      services.auth = auth;
    }
    // Six busy answers later, the person is not locked out.
    expect((await logIn(HOME, PASSWORD)).status).toBe(302);
  });
});
