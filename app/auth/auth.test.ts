import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../tests/database.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { createAuth, EMAIL_TAKEN_MESSAGE, INVALID_CREDENTIALS_MESSAGE, type Auth } from "./auth.server.ts";
import { hashPassword, LOW_COST_SCRYPT_PARAMS } from "./password.server.ts";
import { get, post } from "../../tests/requests.ts";
import { countingKdf } from "../../tests/counting-kdf.ts";
import { createPasswordHashing } from "./password-hashing.server.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

const PASSWORD = "portal-demo-pass";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let auth: Auth;
let stella: { id: string; email: string };

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  // These tests are about sessions and answers, not the KDF's cost: hashes at the low test cost (ADR 026), as the
  // suites' apps use. The tests about the cost itself (rehashing, the KDF run for an unknown email) keep the real one.
  auth = createAuth({
    prisma,
    read: database.read,
    sessionSecrets: ["test-session-secret-0123456789abcdef"],
    secureCookie: false,
    passwordHashing: createPasswordHashing({ params: LOW_COST_SCRYPT_PARAMS }),
  });
  stella = await prisma.user.create({
    data: { email: "stella@example.test", password: { create: { hash: await hashPassword(PASSWORD, LOW_COST_SCRYPT_PARAMS) } } },
    select: { id: true, email: true },
  });
});
afterAll(() => database?.close());
beforeEach(() => prisma.session.deleteMany());


/** The cookie a browser would send back after these response headers. */
function cookieFrom(headers: Headers): string {
  const setCookie = headers.get("Set-Cookie");
  expect(setCookie).toBeTruthy();
  return setCookie!.split(";")[0]!;
}

async function thrownResponse(promise: Promise<unknown>): Promise<Response> {
  const thrown = await promise.then(
    () => expect.fail("expected a thrown redirect"),
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(Response);
  return thrown as Response;
}

async function signIn(): Promise<string> {
  const result = await auth.login(post("/login", { email: stella.email, password: PASSWORD }));
  if (!result.ok) throw new Error("the test user could not log in");
  return cookieFrom(result.headers);
}

/** What the session statement answers for a user with no billing yet: their personal organisation, owned. */
function signedIn(user: { id: string; email: string }) {
  return {
    ...user,
    sessionId: expect.any(String),
    organization: { id: personalOrganizationId(user.id), name: "Personal", personal: true, role: "owner" },
    customers: [],
    subscriptions: [],
  };
}

describe("login", () => {
  it("signs in with the right password and answers with the session cookie", async () => {
    const result = await auth.login(post("/login", { email: stella.email, password: PASSWORD }));
    expect(result).toMatchObject({ ok: true, user: stella });
    if (!result.ok) return;
    expect(await auth.getUser(get("/account", cookieFrom(result.headers)))).toEqual(signedIn(stella));
  });

  it("finds the account whatever the case and spacing of the email", async () => {
    const result = await auth.login(post("/login", { email: "  Stella@Example.TEST ", password: PASSWORD }));
    expect(result).toMatchObject({ ok: true, user: stella });
  });

  it("gives the same generic failure for a wrong password and an unknown email", async () => {
    const wrongPassword = await auth.login(post("/login", { email: stella.email, password: "not-the-password" }));
    const unknownEmail = await auth.login(post("/login", { email: "nobody@example.test", password: "not-the-password" }));
    expect(wrongPassword).toEqual({ ok: false, error: INVALID_CREDENTIALS_MESSAGE, email: stella.email });
    expect(unknownEmail).toEqual({ ok: false, error: INVALID_CREDENTIALS_MESSAGE, email: "nobody@example.test" });
    expect(INVALID_CREDENTIALS_MESSAGE).toBe("Invalid email or password.");
    expect(await prisma.session.count()).toBe(0);
  });

  it("gives the same generic failure for a missing or malformed field, keeping what was typed", async () => {
    const submissions: Record<string, string>[] = [
      { email: stella.email },
      { password: PASSWORD },
      { email: "not-an-email", password: PASSWORD },
      {},
    ];
    for (const fields of submissions) {
      expect(await auth.login(post("/login", fields))).toEqual({
        ok: false,
        error: INVALID_CREDENTIALS_MESSAGE,
        email: fields.email ?? "",
      });
    }
  });

  it("ends the session the browser already had, so a cookie from before the login stops working", async () => {
    const before = await signIn();
    const result = await auth.login(post("/login", { email: stella.email, password: PASSWORD }, before));
    expect(result.ok).toBe(true);
    expect(await auth.getUser(get("/account", before))).toBeNull();
    expect(await prisma.session.count()).toBe(1);
  });

  it("upgrades a hash made with older parameters at the next successful login", async () => {
    const user = await prisma.user.create({
      data: { email: "old@example.test", password: { create: { hash: await hashPassword(PASSWORD, { logN: 14, r: 8, p: 1 }) } } },
    });
    // At the parameters the app ships with.
    const shipped = createAuth({ prisma, read: database.read, sessionSecrets: ["test-session-secret-0123456789abcdef"], secureCookie: false });
    expect((await shipped.login(post("/login", { email: "old@example.test", password: PASSWORD }))).ok).toBe(true);
    const { hash } = await prisma.password.findUniqueOrThrow({ where: { userId: user.id } });
    expect(hash.startsWith("$scrypt$ln=16,r=8,p=1$")).toBe(true);
    expect((await shipped.login(post("/login", { email: "old@example.test", password: PASSWORD }))).ok).toBe(true);
  });
});

describe("login cost", () => {
  it("runs the password KDF for an unknown email exactly as for a wrong password", async () => {
    const kdf = countingKdf({ cheap: false });
    const counted = createAuth({
      prisma,
      read: database.read,
      sessionSecrets: ["test-session-secret-0123456789abcdef"],
      secureCookie: false,
      passwordHashing: createPasswordHashing({ deriveKey: kdf.deriveKey }),
    });
    await counted.login(post("/login", { email: "nobody@example.test", password: "not-the-password" }));
    expect(kdf.runs()).toBe(1);
    await counted.login(post("/login", { email: stella.email, password: "not-the-password" }));
    expect(kdf.runs()).toBe(2);
  });
});

describe("signup", () => {
  it("creates the account with a hashed password and signs it in", async () => {
    const result = await auth.signup(post("/signup", { email: " New.User@Example.test", password: "a-long-enough-password" }));
    expect(result).toMatchObject({ ok: true, user: { email: "new.user@example.test" } });
    if (!result.ok) return;
    expect(await auth.getUser(get("/account", cookieFrom(result.headers)))).toEqual(signedIn(result.user));
    const { hash } = await prisma.password.findUniqueOrThrow({ where: { userId: result.user.id } });
    expect(hash).toMatch(/^\$scrypt\$/);
    expect(hash).not.toContain("a-long-enough-password");
    expect((await auth.login(post("/login", { email: "new.user@example.test", password: "a-long-enough-password" }))).ok).toBe(true);
  });

  it("refuses an email that already has an account, whatever its case", async () => {
    const result = await auth.signup(post("/signup", { email: "STELLA@example.test", password: "another-password" }));
    expect(result).toEqual({ ok: false, fieldErrors: { email: [EMAIL_TAKEN_MESSAGE] }, email: "STELLA@example.test" });
    expect(await prisma.user.count({ where: { email: "stella@example.test" } })).toBe(1);
    expect(await prisma.session.count()).toBe(0);
  });

  it("refuses two simultaneous signups for the same email but one", async () => {
    const fields = { email: "twice@example.test", password: "a-long-enough-password" };
    const results = await Promise.all([auth.signup(post("/signup", fields)), auth.signup(post("/signup", fields))]);
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.find((result) => !result.ok)).toEqual({ ok: false, fieldErrors: { email: [EMAIL_TAKEN_MESSAGE] }, email: fields.email });
  });

  it("explains each invalid field", async () => {
    const result = await auth.signup(post("/signup", { email: "not-an-email", password: "short" }));
    expect(result).toEqual({
      ok: false,
      email: "not-an-email",
      fieldErrors: {
        email: ["Enter a valid email address, like name@example.com."],
        password: ["Use at least 8 characters for your password."],
      },
    });
    const empty = await auth.signup(post("/signup", {}));
    expect(empty).toMatchObject({ ok: false, fieldErrors: { email: ["Enter your email address."], password: ["Choose a password."] } });
  });

  it("accepts a password of exactly 8 characters", async () => {
    expect((await auth.signup(post("/signup", { email: "eight@example.test", password: "tq7#vx2p" }))).ok).toBe(true);
  });
});

describe("logout", () => {
  it("a copied cookie stops working after logout", async () => {
    const cookie = await signIn();
    const copied = cookie;
    const { headers } = await auth.logout(post("/logout", {}, cookie));
    expect(headers.get("Set-Cookie")).toMatch(/^__session=;.*Max-Age=0/i);
    expect(await auth.getUser(get("/account", copied))).toBeNull();
  });
});

describe("requireUser", () => {
  it("returns the signed-in user", async () => {
    expect(await auth.requireUser(get("/account", await signIn()))).toEqual(signedIn(stella));
  });

  it("sends a signed-out visitor to log in, and back to the page they asked for", async () => {
    const response = await thrownResponse(auth.requireUser(get("/account?tab=billing#ignored")));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/login?redirectTo=%2Faccount%3Ftab%3Dbilling");
    expect(response.headers.get("Set-Cookie")).toBeNull();
  });

  it("uses the redirectTo it is given, and 303 after a POST", async () => {
    const response = await thrownResponse(auth.requireUser(post("/billing/portal", {}), { redirectTo: "/account" }));
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/login?redirectTo=%2Faccount");
  });

  it("never puts a path off this app in redirectTo", async () => {
    const fromRequest = await thrownResponse(auth.requireUser(new Request("http://localhost//evil.test/phish")));
    expect(fromRequest.headers.get("Location")).toBe("/login");
    const given = await thrownResponse(auth.requireUser(get("/account"), { redirectTo: "https://evil.test" }));
    expect(given.headers.get("Location")).toBe("/login");
  });

  it("clears a cookie that no longer signs anyone in", async () => {
    const cookie = await signIn();
    await auth.logout(post("/logout", {}, cookie));
    const response = await thrownResponse(auth.requireUser(get("/account", cookie)));
    expect(response.headers.get("Location")).toBe("/login?redirectTo=%2Faccount");
    expect(response.headers.get("Set-Cookie")).toMatch(/^__session=;.*Max-Age=0/i);
  });

  it("treats a tampered cookie as signed out", async () => {
    const cookie = await signIn();
    // The signature's first character: every one of its bits counts (the last one's may not).
    const at = cookie.lastIndexOf(".") + 1;
    const tampered = cookie.slice(0, at) + (cookie[at] === "A" ? "B" : "A") + cookie.slice(at + 1);
    expect(tampered).not.toBe(cookie);
    expect(await auth.getUser(get("/account", tampered))).toBeNull();
    await thrownResponse(auth.requireUser(get("/account", tampered)));
  });
});

describe("requireAnonymous", () => {
  it("sends a signed-in user to their account", async () => {
    const response = await thrownResponse(auth.requireAnonymous(get("/login", await signIn())));
    expect(response.headers.get("Location")).toBe("/account");
  });

  it("lets a signed-out visitor through", async () => {
    await expect(auth.requireAnonymous(get("/login"))).resolves.toBeUndefined();
  });
});
