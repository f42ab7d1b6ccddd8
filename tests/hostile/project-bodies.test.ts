import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { ACCEPT_HEADERS, DEMO_EMAIL, DEMO_PASSWORD, JSON_KINDS, NON_JSON_KINDS, type SessionCookies, arbitraries, buildRequest, isJsonRequest } from "./arbitraries.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS } from "./fuzz-settings.ts";
import { signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

// Issue 18's doors (SPEC "Entitlements"): project names empty, huge, with markup or not text at all, project ids
// of anyone or nothing, from signed-in owners on the free tier (limit 1) and on Pro, or nobody.

const FREE_EMAIL = "nobody@demo.test";

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
let cookies: SessionCookies;

beforeAll(async () => {
  app = await startApp({ port: 7820, env: { TRUST_PROXY: "1" } });
  fuzz = createBodyFuzz(app);
  cookies = {
    live: await signIn(fuzz.client, app.origin, FREE_EMAIL, DEMO_PASSWORD),
    other: await signIn(fuzz.client, app.origin, DEMO_EMAIL, DEMO_PASSWORD),
  };
  for (const part of [...cookieSecrets(cookies.live), ...cookieSecrets(cookies.other!)]) fuzz.secrets.add(part);
});

afterAll(async () => {
  fuzz?.report();
  fuzz?.close();
  await app?.stop();
});

checkLogOfEachTest(() => app, () => fuzz.secrets);

function projectRequests(path: string, kinds?: typeof JSON_KINDS | typeof NON_JSON_KINDS) {
  const a = arbitraries(app.origin);
  const name = fc.oneof({ weight: 2, arbitrary: a.text }, { weight: 1, arbitrary: fc.constantFrom("My project", "<script>alert(1)</script>", "x".repeat(101), "   ") }, { weight: 1, arbitrary: a.jsonValue });
  return fc
    .record({
      body: kinds ? a.encoded(a.fields(["name"], name), kinds) : a.encoded(a.fields(["name"], name)),
      origin: a.origin,
      fetchSite: a.fetchSite,
      cookie: a.cookieOfTwoUsers,
      forwardedFor: a.forwardedFor,
      accept: fc.constantFrom(...ACCEPT_HEADERS.map(([value]) => value)),
    })
    .map((parts) => buildRequest({ path, ...parts }, cookies));
}

describe(`every generated body (${NUM_RUNS} per door) to the project doors gets a status the SPEC lists, never a 500, reset or hang`, () => {
  test(
    "POST /projects as a browser form",
    async () => {
      const requests = projectRequests("/projects", NON_JSON_KINDS).filter((request) => !isJsonRequest(request));
      await assertEach(requests, async (request) => {
        expect(await fuzz.problemsWith("projectsForm", request, "/projects (form)")).toEqual([]);
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /api/projects",
    async () => {
      const requests = projectRequests("/api/projects", JSON_KINDS);
      await assertEach(requests, async (request) => {
        expect(await fuzz.problemsWith("projectsJson", request, "/api/projects")).toEqual([]);
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /projects/<id>/delete with any id",
    async () => {
      const a = arbitraries(app.origin);
      const id = fc.oneof(fc.uuid(), fc.constantFrom("..", "%2e%2e", "cm0000000000000000000000", "' OR 1=1 --", "%00"), fc.webSegment());
      const requests = fc
        .record({ id, body: a.encoded(a.fields([])), origin: a.origin, fetchSite: a.fetchSite, cookie: a.cookieOfTwoUsers, forwardedFor: a.forwardedFor })
        .map(({ id: projectId, ...parts }) => buildRequest({ path: `/projects/${encodeURIComponent(projectId)}/delete`, ...parts }, cookies));
      await assertEach(requests, async (request) => {
        expect(await fuzz.problemsWith("projectDelete", request, "/projects/<id>/delete")).toEqual([]);
      });
    },
    PROPERTY_TIMEOUT_MS,
  );
});
