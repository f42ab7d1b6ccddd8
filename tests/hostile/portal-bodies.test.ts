import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { ACCEPT_HEADERS, DEMO_EMAIL, DEMO_PASSWORD, JSON_KINDS, NON_JSON_KINDS, type SessionCookies, arbitraries, buildRequest, isJsonRequest } from "./arbitraries.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS } from "./fuzz-settings.ts";
import { signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
let cookies: SessionCookies;

beforeAll(async () => {
  // TRUST_PROXY=1: each generated request comes from its own X-Forwarded-For address, as many clients would.
  app = await startApp({ port: 5410, env: { TRUST_PROXY: "1" } });
  fuzz = createBodyFuzz(app);
  cookies = { live: await signIn(fuzz.client, app.origin, DEMO_EMAIL, DEMO_PASSWORD) };
  for (const part of cookieSecrets(cookies.live)) fuzz.secrets.add(part);
});

afterAll(async () => {
  fuzz?.report();
  fuzz?.close();
  await app?.stop();
});

checkLogOfEachTest(() => app, () => fuzz.secrets);

describe(`every generated body (${NUM_RUNS} per door) to the billing portal gets a status the SPEC lists, never a 500, reset or hang`, () => {
  test(
    "POST /billing/portal as a browser form",
    async () => {
      const a = arbitraries(app.origin);
      const accepts = ACCEPT_HEADERS.filter(([, prefersJson]) => !prefersJson).map(([value]) => value);
      const requests = fc
        .record({
          body: a.encoded(a.fields(["returnUrl"], a.urlLike), NON_JSON_KINDS),
          origin: a.origin,
          fetchSite: a.fetchSite,
          cookie: a.cookie,
          forwardedFor: a.forwardedFor,
          accept: fc.constantFrom(...accepts),
        })
        .map((parts) => buildRequest({ path: "/billing/portal", ...parts }, cookies))
        .filter((request) => !isJsonRequest(request));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("portalForm", request, "/billing/portal (form)")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /billing/portal as JSON (a JSON body, or an Accept that prefers JSON)",
    async () => {
      const a = arbitraries(app.origin);
      const requests = fc
        .record({
          body: fc.oneof(a.encoded(a.fields(["returnUrl"]), JSON_KINDS), a.encoded(a.fields(["returnUrl"], a.urlLike))),
          origin: a.origin,
          fetchSite: a.fetchSite,
          cookie: a.cookie,
          forwardedFor: a.forwardedFor,
          accept: fc.constantFrom(...ACCEPT_HEADERS.map(([value]) => value)),
        })
        .map((parts) => buildRequest({ path: "/billing/portal", ...parts }, cookies))
        .filter((request) => isJsonRequest(request));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("portalJson", request, "/billing/portal (JSON)")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /api/payments/portal",
    async () => {
      const a = arbitraries(app.origin);
      const requests = fc
        .record({
          body: fc.oneof(a.encoded(a.fields(["returnUrl"], a.urlLike)), a.encoded(a.fields(["returnUrl"]), JSON_KINDS)),
          origin: a.origin,
          fetchSite: a.fetchSite,
          cookie: a.cookie,
          forwardedFor: a.forwardedFor,
          accept: fc.constantFrom(...ACCEPT_HEADERS.map(([value]) => value)),
        })
        .map((parts) => buildRequest({ path: "/api/payments/portal", ...parts }, cookies));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("portalJson", request, "/api/payments/portal")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );
});
