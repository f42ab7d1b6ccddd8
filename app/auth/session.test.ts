import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase } from "../../tests/database.ts";
import type { RawRead } from "~/db/database.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { createSessionStore, SESSION_COOKIE_NAME, SESSION_MAX_AGE_MS, type SessionStore } from "./session.server.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";

const SECRET = "test-session-secret-0123456789abcdef";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let store: SessionStore;
/** The driver's own query, as the app's services hand it to the store (spied on to count lookups). */
const read: RawRead = (sql, params) => database.read(sql, params);
let user: { id: string; email: string };

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.prisma;
  store = createSessionStore({ prisma, read, secrets: [SECRET], secure: false });
});
afterAll(() => database?.close());

beforeEach(async () => {
  await prisma.session.deleteMany();
  await prisma.user.deleteMany();
  user = await prisma.user.create({ data: { email: "stella@example.test" }, select: { id: true, email: true } });
});

/** The `name=value` a browser would send back for a `Set-Cookie` value. */
function cookiePair(setCookie: string): string {
  return setCookie.split(";")[0]!;
}

function requestWithCookie(cookie?: string): Request {
  return new Request("http://localhost/account", { headers: cookie ? { Cookie: cookie } : {} });
}

function attributes(setCookie: string): string[] {
  return setCookie.split(";").slice(1).map((part) => part.trim().toLowerCase());
}

describe("session cookie", () => {
  it("signing in sets a cookie holding only an opaque signed session id", async () => {
    const setCookie = await store.create(user.id);
    const [name, value] = cookiePair(setCookie).split("=") as [string, string];
    expect(name).toBe(SESSION_COOKIE_NAME);

    const [payload, signature] = decodeURIComponent(value).split(".");
    expect(signature).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
    const sessionId: unknown = JSON.parse(atob(payload!));
    const row = await prisma.session.findUniqueOrThrow({ where: { id: sessionId as string } });
    expect(row.userId).toBe(user.id);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits

    for (const text of [setCookie, atob(payload!)]) {
      expect(text).not.toContain(user.id);
      expect(text).not.toContain(user.email);
    }
  });

  it("is HttpOnly, SameSite=Lax, for the whole site, and lasts 30 days like its session", async () => {
    const setCookie = await store.create(user.id);
    expect(attributes(setCookie)).toEqual(expect.arrayContaining(["httponly", "samesite=lax", "path=/"]));
    expect(attributes(setCookie)).not.toContain("secure");

    const row = await prisma.session.findFirstOrThrow({ where: { userId: user.id } });
    const expiresIn = row.expirationDate.getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(SESSION_MAX_AGE_MS - 60_000);
    expect(expiresIn).toBeLessThanOrEqual(SESSION_MAX_AGE_MS);
    const expires = attributes(setCookie).find((part) => part.startsWith("expires="));
    expect(new Date(expires!.slice("expires=".length)).getTime()).toBe(Math.floor(row.expirationDate.getTime() / 1000) * 1000);
  });

  it("is Secure when the app is served over https", async () => {
    const httpsStore = createSessionStore({ prisma, read, secrets: [SECRET], secure: true });
    expect(attributes(await httpsStore.create(user.id))).toContain("secure");
    expect(attributes(await httpsStore.clearCookie())).toContain("secure");
  });
});

describe("reading a session", () => {
  it("finds the signed-in user from the cookie", async () => {
    const cookie = cookiePair(await store.create(user.id));
    expect(await store.read(requestWithCookie(cookie))).toMatchObject({ status: "active", user });
  });

  it("sees no session without a cookie, or with only other cookies", async () => {
    expect(await store.read(requestWithCookie())).toEqual({ status: "none" });
    expect(await store.read(requestWithCookie("theme=dark; x__session=abc"))).toEqual({ status: "none" });
  });

  it("treats a tampered cookie as signed out", async () => {
    const cookie = cookiePair(await store.create(user.id));
    const [name, value] = cookie.split("=") as [string, string];
    const [payload, signature] = decodeURIComponent(value).split(".") as [string, string];
    const otherSession = await prisma.session.create({
      data: { id: "someone-elses-session", userId: user.id, expirationDate: new Date(Date.now() + 60_000) },
    });
    const forgedPayload = btoa(JSON.stringify(otherSession.id));
    const flipped = signature.startsWith("A") ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;

    const tampered = {
      "signature changed": `${name}=${encodeURIComponent(`${payload}.${flipped}`)}`,
      "id swapped, old signature": `${name}=${encodeURIComponent(`${forgedPayload}.${signature}`)}`,
      unsigned: `${name}=${encodeURIComponent(forgedPayload)}`,
      "signature stripped": `${name}=${encodeURIComponent(payload)}`,
      emptied: `${name}=`,
      garbage: `${name}=garbage`,
    };
    const seen: Record<string, unknown> = {};
    for (const [how, cookieHeader] of Object.entries(tampered)) seen[how] = await store.read(requestWithCookie(cookieHeader));
    expect(seen).toEqual(Object.fromEntries(Object.keys(tampered).map((how) => [how, { status: "invalid" }])));
  });

  it("refuses a cookie signed with a secret it does not know", async () => {
    const foreign = createSessionStore({ prisma, read, secrets: ["another-secret-0123456789abcdefghij"], secure: false });
    const cookie = cookiePair(await foreign.create(user.id));
    expect(await store.read(requestWithCookie(cookie))).toEqual({ status: "invalid" });
  });

  it("keeps sessions signed with the previous secret working after the secret rotates", async () => {
    const cookie = cookiePair(await store.create(user.id));
    const rotated = createSessionStore({ prisma, read, secrets: ["the-new-secret-0123456789abcdefghij", SECRET], secure: false });
    expect(await rotated.read(requestWithCookie(cookie))).toMatchObject({ status: "active", user });
  });

  it("signs out an expired session and deletes its row", async () => {
    const cookie = cookiePair(await store.create(user.id));
    await prisma.session.updateMany({ data: { expirationDate: new Date(Date.now() - 1000) } });
    expect(await store.read(requestWithCookie(cookie))).toEqual({ status: "invalid" });
    expect(await prisma.session.count()).toBe(0);
  });

  it("signs out a session whose time runs out while the cookie is still in the browser", async () => {
    let now = new Date("2030-01-01T00:00:00Z");
    const clocked = createSessionStore({ prisma, read, secrets: [SECRET], secure: false, now: () => now });
    const cookie = cookiePair(await clocked.create(user.id));
    now = new Date(now.getTime() + SESSION_MAX_AGE_MS - 1000);
    expect(await clocked.read(requestWithCookie(cookie))).toMatchObject({ status: "active" });
    now = new Date(now.getTime() + 1000);
    expect(await clocked.read(requestWithCookie(cookie))).toEqual({ status: "invalid" });
  });

  it("signs out a session whose row was deleted (revoked)", async () => {
    const cookie = cookiePair(await store.create(user.id));
    await prisma.session.deleteMany({ where: { userId: user.id } });
    expect(await store.read(requestWithCookie(cookie))).toEqual({ status: "invalid" });
  });
});

describe("ending a session", () => {
  it("a copied cookie stops working after logout", async () => {
    const cookie = cookiePair(await store.create(user.id));
    const copy = cookie;
    const cleared = await store.destroy(requestWithCookie(cookie));

    expect(cleared.startsWith(`${SESSION_COOKIE_NAME}=;`)).toBe(true);
    expect(attributes(cleared)).toEqual(expect.arrayContaining(["max-age=0", "httponly", "samesite=lax", "path=/"]));
    expect(await store.read(requestWithCookie(copy))).toEqual({ status: "invalid" });
    expect(await prisma.session.count()).toBe(0);
  });

  it("ends only the session of the cookie, not the user's other devices", async () => {
    const laptop = cookiePair(await store.create(user.id));
    const phone = cookiePair(await store.create(user.id));
    await store.destroy(requestWithCookie(laptop));
    expect(await store.read(requestWithCookie(phone))).toMatchObject({ status: "active", user });
  });

  it("clears the cookie even when there is no session to delete", async () => {
    const cleared = await store.destroy(requestWithCookie());
    expect(attributes(cleared)).toContain("max-age=0");
  });
});

it("refuses to start without a secret", () => {
  expect(() => createSessionStore({ prisma, read, secrets: [], secure: false })).toThrow(/SESSION_SECRET/);
  expect(() => createSessionStore({ prisma, read, secrets: [""], secure: false })).toThrow(/SESSION_SECRET/);
});

describe("session lookups", () => {
  it("one page request asks the database once, however many loaders ask who is signed in", async () => {
    const cookie = cookiePair(await store.create(user.id));
    const queries = vi.spyOn(database, "read");
    const request = requestWithCookie(cookie);
    const [first, second] = await Promise.all([store.read(request), store.read(request)]);
    expect(await store.read(request)).toEqual(first);
    expect(second).toEqual(first);
    expect(first.status).toBe("active");
    expect(queries).toHaveBeenCalledTimes(1);

    // A new request (the next click) looks again, and sees a logout made in between.
    await store.destroy(request);
    expect((await store.read(requestWithCookie(cookie))).status).toBe("invalid");
    expect(queries).toHaveBeenCalledTimes(2);
    queries.mockRestore();
  });

  it("requests arriving together share one statement, and each gets its own user and customers", async () => {
    const others = await Promise.all(
      ["ada", "grace", "linus"].map((name) => prisma.user.create({ data: { email: `${name}@example.test` }, select: { id: true, email: true } })),
    );
    await prisma.customer.create({ data: { organizationId: personalOrganizationId(others[1]!.id), provider: "stripe", providerCustomerId: "cus_grace" } });
    const cookies = await Promise.all([user, ...others].map(async (someone) => cookiePair(await store.create(someone.id))));
    const revoked = cookies[3]!;
    await store.destroy(requestWithCookie(revoked));
    const queries = vi.spyOn(database, "read");

    const lookups = await Promise.all(cookies.map((cookie) => store.read(requestWithCookie(cookie))));
    expect(queries).toHaveBeenCalledTimes(1);
    expect(lookups.map((lookup) => (lookup.status === "active" ? [lookup.user.email, lookup.user.customers] : lookup.status))).toEqual([
      [user.email, []],
      ["ada@example.test", []],
      ["grace@example.test", [{ provider: "stripe", providerCustomerId: "cus_grace" }]],
      "invalid",
    ]);
    queries.mockRestore();
  });
});
