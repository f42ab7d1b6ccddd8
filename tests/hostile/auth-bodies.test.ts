import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { DEMO_EMAIL, DEMO_PASSWORD, type SessionCookies, arbitraries, buildRequest } from "./arbitraries.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS } from "./fuzz-settings.ts";
import { signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
/** A signed-in session to send along; a generated login or logout may well end it, as it would a browser's. */
let cookies: SessionCookies;

beforeAll(async () => {
  // TRUST_PROXY=1: each generated request comes from its own X-Forwarded-For address, as many clients
  // would, so the per-address limits count as they would in production rather than stopping the run at once.
  app = await startApp({ port: 5420, env: { TRUST_PROXY: "1" } });
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

describe(`every generated body (${NUM_RUNS} per door) to sign-in, sign-up and sign-out gets a status the SPEC lists, never a 500, reset or hang`, () => {
  for (const [path, door, extra] of [
    ["/login", "login", ["redirectTo"]],
    ["/signup", "signup", []],
  ] as const) {
    test(
      `POST ${path}`,
      async () => {
        const a = arbitraries(app.origin);
        const requests = fc
          .record({
            body: a.encoded(a.credentialFields(extra)),
            origin: a.origin,
            fetchSite: a.fetchSite,
            cookie: a.cookie,
            forwardedFor: a.forwardedFor,
          })
          .map((parts) => buildRequest({ path, ...parts }, cookies));
        await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith(door, request, path)).toEqual([]);
        });
      },
      PROPERTY_TIMEOUT_MS,
    );
  }

  test(
    "POST /logout",
    async () => {
      const a = arbitraries(app.origin);
      const requests = fc
        .record({
          body: a.encoded(a.fields(["redirectTo", "returnUrl"])),
          origin: a.origin,
          fetchSite: a.fetchSite,
          cookie: a.cookie,
          forwardedFor: a.forwardedFor,
        })
        .map((parts) => buildRequest({ path: "/logout", ...parts }, cookies));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("logout", request, "/logout")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );
});
