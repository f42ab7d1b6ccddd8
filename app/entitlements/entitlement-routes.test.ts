import { RouterContextProvider } from "react-router";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import { personalOrganizationId } from "~/orgs/billing-owner.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "../../tests/database.ts";

// SPEC "Entitlements", through the routes with their middleware (requireOwner / requireFeature) as React Router
// runs them: the entitlement state comes from the session statement, the limit from the database.

const holder = vi.hoisted(() => ({ auth: undefined as unknown, services: undefined as unknown }));
vi.mock("~/services.server.ts", () => holder);

const APP = "http://localhost";
const DAY = 86_400_000;
let services: Services;
beforeAll(async () => {
  services = await startServices(
    { ...parseConfig({ APP_ENV: "test", APP_URL: APP, PAYMENT_EMULATOR: "1", RATE_LIMIT_SIGNUP_PER_HOUR: "0" }), seedDemoData: false },
    { database: await createTestDatabase(), startJobs: false },
  );
  holder.auth = services.auth;
  holder.services = services;
}, 60_000);
afterAll(() => services?.stop());

type RouteModule = { middleware?: ((args: object, next: () => Promise<unknown>) => Promise<unknown>)[]; loader?: (args: never) => unknown; action?: (args: never) => unknown };

/** Runs a route module's middleware, then its loader (GET) or action, as React Router would; a throw is the answer. */
async function run(module: RouteModule, request: Request, params: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const args = { request, params, context: new RouterContextProvider() };
  const handler = (request.method === "GET" ? module.loader : module.action) as (a: typeof args) => unknown;
  const chain = module.middleware ?? [];
  const step = async (i: number): Promise<unknown> => (i < chain.length ? chain[i]!(args, () => step(i + 1)) : handler(args));
  const outcome = await step(0).catch((thrown: unknown) => thrown);
  if (outcome instanceof Response) {
    const text = await outcome.text();
    return { status: outcome.status, headers: outcome.headers, body: text && outcome.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
  }
  if (outcome && typeof outcome === "object" && "init" in outcome && "data" in outcome) {
    const { data, init } = outcome as { data: unknown; init?: ResponseInit | null };
    return { status: init?.status ?? 200, headers: new Headers(init?.headers), body: data };
  }
  if (outcome instanceof Error) throw outcome;
  return { status: 200, headers: new Headers(), body: outcome };
}

const routes = {
  entitlements: () => import("~/routes/api.entitlements.ts") as Promise<RouteModule>,
  apiProjects: () => import("~/routes/api.projects.ts") as Promise<RouteModule>,
  projects: () => import("~/routes/projects.tsx") as Promise<RouteModule>,
  deleteProject: () => import("~/routes/projects.$id.delete.ts") as Promise<RouteModule>,
  reports: () => import("~/routes/reports.tsx") as Promise<RouteModule>,
};

let n = 0;
async function owner(subscription?: { plan: string; status: "active" | "trialing" | "past_due" | "canceled"; pastDueSince?: Date; trialEnd?: Date }) {
  const email = `entitled-${++n}@example.test`;
  const result = await services.auth.signup(new Request(`${APP}/signup`, { method: "POST", body: new URLSearchParams({ email, password: "a-long-enough-password" }) }));
  if (!result.ok) throw new Error("signup failed");
  const organizationId = personalOrganizationId(result.user.id);
  if (subscription) {
    await services.database.prisma.subscription.create({
      data: {
        organizationId,
        provider: "stripe",
        providerSubscriptionId: `sub_Ent${n}`,
        providerCustomerId: `cus_Ent${n}`,
        providerUpdatedAt: new Date(),
        currentPeriodEnd: new Date(Date.now() + 20 * DAY),
        ...subscription,
      },
    });
  }
  return { cookie: result.headers.get("Set-Cookie")!.split(";")[0]!, organizationId };
}

const getJson = (path: string, cookie?: string) => new Request(`${APP}${path}`, { headers: { Accept: "application/json", ...(cookie ? { Cookie: cookie } : {}) } });
const getPage = (path: string, cookie?: string) => new Request(`${APP}${path}`, { headers: { Accept: "text/html", ...(cookie ? { Cookie: cookie } : {}) } });
const postJson = (path: string, body: unknown, cookie?: string) =>
  new Request(`${APP}${path}`, { method: "POST", headers: { "Content-Type": "application/json", ...(cookie ? { Cookie: cookie } : {}) }, body: typeof body === "string" ? body : JSON.stringify(body) });
const postForm = (path: string, fields: Record<string, string>, cookie: string) =>
  new Request(`${APP}${path}`, { method: "POST", headers: { Cookie: cookie }, body: new URLSearchParams(fields) });

describe("GET /api/entitlements", () => {
  test("signed out: 401; a new owner: the free tier, no usage, no grace", async () => {
    expect(await run(await routes.entitlements(), getJson("/api/entitlements"))).toMatchObject({ status: 401, body: { error: "Unauthorized" } });
    const { cookie, organizationId } = await owner();
    expect((await run(await routes.entitlements(), getJson("/api/entitlements", cookie))).body).toEqual({
      owner: organizationId,
      plan: "free",
      status: null,
      features: { reports: false },
      limits: { projects: 1 },
      usage: { projects: 0 },
      graceUntil: null,
    });
  });

  test("past due two days ago: Pro during the grace, with its end; eight days ago: the free tier", async () => {
    const since = new Date(Date.now() - 2 * DAY);
    const inGrace = await owner({ plan: "pro", status: "past_due", pastDueSince: since });
    expect((await run(await routes.entitlements(), getJson("/api/entitlements", inGrace.cookie))).body).toMatchObject({
      plan: "pro",
      status: "past_due",
      features: { reports: true },
      graceUntil: new Date(since.getTime() + 7 * DAY).toISOString(),
    });
    expect((await run(await routes.reports(), getPage("/reports", inGrace.cookie))).status).toBe(200);
    const over = await owner({ plan: "pro", status: "past_due", pastDueSince: new Date(Date.now() - 8 * DAY) });
    expect((await run(await routes.entitlements(), getJson("/api/entitlements", over.cookie))).body).toMatchObject({ plan: "free", graceUntil: null });
  });

  test("a trial grants its plan", async () => {
    const trial = await owner({ plan: "pro", status: "trialing", trialEnd: new Date(Date.now() + 14 * DAY) });
    expect((await run(await routes.entitlements(), getJson("/api/entitlements", trial.cookie))).body).toMatchObject({ plan: "pro", status: "trialing" });
  });
});

describe("requireFeature(\"reports\")", () => {
  test("without it: a page gets 403 with the reason and Upgrade to pricing; JSON the SPEC's body; signed out goes to login", async () => {
    const free = await owner();
    const page = await run(await routes.reports(), getPage("/reports", free.cookie));
    expect(page).toMatchObject({ status: 403, body: { upgrade: { feature: "reports", through: "pricing" } } });
    expect(page.body.upgrade.reason).toBe("Reports are part of Pro and Team. Your plan (Free) does not include them.");
    const json = await run(await routes.reports(), getJson("/reports", free.cookie));
    expect(json).toMatchObject({ status: 403, body: { error: "Upgrade required", feature: "reports" } });
    const signedOut = await run(await routes.reports(), getPage("/reports"));
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get("Location")).toBe("/login?redirectTo=%2Freports");
  });

  test("a Starter subscriber's Upgrade is the change_plan deep link; a Pro subscriber gets the page", async () => {
    const starter = await owner({ plan: "starter", status: "active" });
    expect(await run(await routes.reports(), getPage("/reports", starter.cookie))).toMatchObject({ status: 403, body: { upgrade: { through: "change_plan" } } });
    const pro = await owner({ plan: "pro", status: "active" });
    expect(await run(await routes.reports(), getPage("/reports", pro.cookie))).toMatchObject({ status: 200, body: { planName: "Pro", projects: 0 } });
  });
});

test("a member who does not manage billing is told to ask an owner or admin, with no Upgrade button to fail", async () => {
  const member = await owner();
  const organization = await services.database.prisma.organization.create({ data: { name: "Acme Test" } });
  const userId = member.organizationId.replace(/^personal_/, "");
  await services.database.prisma.membership.create({ data: { organizationId: organization.id, userId, role: "member" } });
  await services.database.prisma.session.updateMany({ where: { userId }, data: { currentOrganizationId: organization.id } });
  expect(await run(await routes.reports(), getPage("/reports", member.cookie))).toMatchObject({ status: 403, body: { upgrade: { through: "ask-owner" } } });
  expect((await run(await routes.projects(), getPage("/projects", member.cookie))).body).toMatchObject({ upgradeThrough: "ask-owner" });
});

describe("projects", () => {
  test("a Starter owner creates 3 through the JSON door, the 4th is 403 Limit reached; the form says it and offers Upgrade", async () => {
    const starter = await owner({ plan: "starter", status: "active" });
    const api = await routes.apiProjects();
    for (const name of ["One", "Two", "Three"]) {
      const created = await run(api, postJson("/api/projects", { name }, starter.cookie));
      expect(created).toMatchObject({ status: 201, body: { id: expect.any(String), name } });
    }
    expect(await run(api, postJson("/api/projects", { name: "Four" }, starter.cookie))).toMatchObject({ status: 403, body: { error: "Limit reached", limit: 3 } });
    const form = await run(await routes.projects(), postForm("/projects", { name: "Four" }, starter.cookie));
    expect(form).toMatchObject({ status: 403, body: { limitReached: true } });
    expect(form.body.error).toBe("Your plan (Starter) allows 3 projects. Upgrade to add more.");
    expect((await run(await routes.projects(), getPage("/projects", starter.cookie))).body).toMatchObject({ limit: 3, upgradeThrough: "change_plan" });
    expect((await run(await routes.entitlements(), getJson("/api/entitlements", starter.cookie))).body.usage).toEqual({ projects: 3 });
  });

  test("names empty, huge or with markup, and bodies that are not an object, get a clear 400 and create nothing", async () => {
    const pro = await owner({ plan: "pro", status: "active" });
    const api = await routes.apiProjects();
    for (const body of [{ name: "" }, { name: "   " }, { name: "x".repeat(101) }, { name: "<script>alert(1)</script>" }, { name: "a\u0000b" }, { name: 7 }, {}, [], "{name"]) {
      const answer = await run(api, postJson("/api/projects", body, pro.cookie));
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("Invalid request body");
    }
    const form = await run(await routes.projects(), postForm("/projects", { name: "<b>bold</b>" }, pro.cookie));
    expect(form).toMatchObject({ status: 400, body: { error: "A project name cannot contain < or >, or control characters." } });
    expect(await services.projects.count(pro.organizationId)).toBe(0);
  });

  test("another owner's project id is 404 and stays; the owner's own is deleted", async () => {
    const [a, b] = [await owner({ plan: "pro", status: "active" }), await owner()];
    const created = await run(await routes.apiProjects(), postJson("/api/projects", { name: "Mine" }, a.cookie));
    const del = await routes.deleteProject();
    expect((await run(del, postForm(`/projects/${created.body.id}/delete`, {}, b.cookie), { id: created.body.id })).status).toBe(404);
    expect(await services.projects.count(a.organizationId)).toBe(1);
    const mine = await run(del, postForm(`/projects/${created.body.id}/delete`, {}, a.cookie), { id: created.body.id });
    expect(mine.status).toBe(303);
    expect(await services.projects.count(a.organizationId)).toBe(0);
  });
});
