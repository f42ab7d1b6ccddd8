import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { DEMO_PASSWORD, type SessionCookies, arbitraries, buildRequest } from "./arbitraries.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS } from "./fuzz-settings.ts";
import { signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

// Issue 17's new doors (organisations): every generated body gets a status the SPEC lists, never a 500; the demo
// team keeps its owner whatever is sent (the last owner can neither leave nor be demoted).

const ACME = "org_demo_acme";

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
let cookies: SessionCookies;

beforeAll(async () => {
  app = await startApp({ port: 5470, env: { TRUST_PROXY: "1" } });
  fuzz = createBodyFuzz(app);
  // "live" owns Acme; "other" is one of its members (no billing, no member management).
  cookies = {
    live: await signIn(fuzz.client, app.origin, "team@demo.test", DEMO_PASSWORD),
    other: await signIn(fuzz.client, app.origin, "member@demo.test", DEMO_PASSWORD),
  };
  for (const part of [...cookieSecrets(cookies.live), ...cookieSecrets(cookies.other!)]) fuzz.secrets.add(part);
});

afterAll(async () => {
  fuzz?.report();
  fuzz?.close();
  await app?.stop();
});

checkLogOfEachTest(() => app, () => fuzz.secrets);

/** Organisation ids a client could put in a path or a field: Acme, unknown ones, malformed ones. */
const orgIds = fc.oneof(
  { weight: 3, arbitrary: fc.constant(ACME) },
  { weight: 1, arbitrary: fc.constantFrom("personal_nobody", "org_unknown", "..", "%2e%2e", "a".repeat(300), "%00", "'%20OR%201=1") },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/) },
);

/** The doors, each with the fields it reads; the path varies where the door's does. */
const DOORS = [
  { label: "POST /orgs", path: fc.constant("/orgs"), known: ["name"] },
  { label: "POST /orgs/switch", path: fc.constant("/orgs/switch"), known: ["orgId", "redirectTo"] },
  { label: "POST /orgs/<id>/invitations", path: orgIds.map((id) => `/orgs/${id}/invitations`), known: ["email", "role"] },
  {
    label: "POST /orgs/<id>/members/<userId>",
    path: fc.tuple(orgIds, fc.oneof(fc.constant("personal_x"), fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/))).map(([id, user]) => `/orgs/${id}/members/${user}`),
    known: ["role", "intent"],
  },
  { label: "POST /orgs/<id>/leave", path: orgIds.map((id) => `/orgs/${id}/leave`), known: [] },
  { label: "POST /invitations/<token>", path: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/)).map((token) => `/invitations/${token}`), known: [] },
] as const;

describe(`every generated body (${NUM_RUNS} per door) to the organisation doors gets a status the SPEC lists, never a 500`, () => {
  for (const door of DOORS) {
    test(
      `${door.label}`,
      async () => {
        const a = arbitraries(app.origin);
        const value = fc.oneof(
          { weight: 3, arbitrary: a.jsonValue },
          { weight: 1, arbitrary: fc.constantFrom("owner", "admin", "member", "remove", ACME, "<b>Acme</b>", "x".repeat(10_000), "new@example.test") },
        );
        const requests = fc
          .record({
            path: door.path,
            body: a.encoded(a.fields(door.known, value)),
            origin: a.origin,
            fetchSite: a.fetchSite,
            cookie: a.cookieOfTwoUsers,
            forwardedFor: a.forwardedFor,
          })
          .map((parts) => buildRequest(parts, cookies));
        await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("orgDoor", request, door.label)).toEqual([]);
        });
        // Whatever was sent, Acme still has its owner, and the member page still opens for them.
        const page = await fuzz.client.send({ method: "GET", path: `/orgs/${ACME}`, headers: { Cookie: cookies.live }, body: undefined });
        expect(page.status).toBe(200);
        // React separates adjacent text with comments in server HTML.
        expect(page.body.replaceAll("<!-- -->", "")).toContain("team@demo.test · Owner");
      },
      PROPERTY_TIMEOUT_MS,
    );
  }
});

describe("GET /api/orgs", () => {
  test("answers the signed-in user's organisations and the current one; 401 signed out", async () => {
    const signedIn = await fuzz.client.send({ method: "GET", path: "/api/orgs", headers: { Cookie: cookies.live } });
    expect(signedIn.status).toBe(200);
    const body = JSON.parse(signedIn.body) as { current: string; orgs: { id: string; name: string; role: string; members: number }[] };
    expect(body.orgs.find((org) => org.id === ACME)).toMatchObject({ name: "Acme", role: "owner" });
    expect(body.orgs.map((org) => org.id)).toContain(body.current);
    expect(Object.keys(body.orgs[0]!).toSorted()).toEqual(["id", "members", "name", "role"]);
    const signedOut = await fuzz.client.send({ method: "GET", path: "/api/orgs", headers: {} });
    expect(signedOut.status).toBe(401);
    expect(JSON.parse(signedOut.body)).toEqual({ error: "Unauthorized" });
  });
});
