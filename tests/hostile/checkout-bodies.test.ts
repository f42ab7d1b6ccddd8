import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { ACCEPT_HEADERS, DEMO_EMAIL, DEMO_PASSWORD, JSON_KINDS, NON_JSON_KINDS, type SessionCookies, arbitraries, buildRequest, isJsonRequest } from "./arbitraries.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS } from "./fuzz-settings.ts";
import { signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

/** The demo user with no subscription: a valid plan from them goes all the way to the (emulated) provider. */
const UNSUBSCRIBED_EMAIL = "nobody@demo.test";

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
let cookies: SessionCookies;

beforeAll(async () => {
  app = await startApp({
    port: 7800,
    env: {
      // Each generated request comes from its own X-Forwarded-For address, as many clients would.
      TRUST_PROXY: "1",
      // Above the default 10 so that, in the run's first minute, fifty checkouts reach the emulator
      // (the success answer under every encoding) and later ones meet the limit (429): bounded either way.
      RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "50",
    },
  });
  fuzz = createBodyFuzz(app);
  // "live" has no subscription (its checkouts reach the provider); "other" has one (409, back to /account).
  cookies = {
    live: await signIn(fuzz.client, app.origin, UNSUBSCRIBED_EMAIL, DEMO_PASSWORD),
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

/** Checkouts a JSON client could send to `path`: a JSON body or any other, with any Accept. */
function jsonCheckouts(path: string) {
  const a = arbitraries(app.origin);
  return fc
    .record({
      body: fc.oneof(a.encoded(a.fields(["plan"], a.planValue), JSON_KINDS), a.encoded(a.fields(["plan"], a.planValue))),
      origin: a.origin,
      fetchSite: a.fetchSite,
      cookie: a.cookieOfTwoUsers,
      forwardedFor: a.forwardedFor,
      accept: fc.constantFrom(...ACCEPT_HEADERS.map(([value]) => value)),
    })
    .map((parts) => buildRequest({ path, ...parts }, cookies));
}

describe(`every generated body (${NUM_RUNS} per door) to the checkout gets a status the SPEC lists, never a 500, reset or hang`, () => {
  test(
    "POST /billing/checkout as a browser form",
    async () => {
      const a = arbitraries(app.origin);
      const accepts = ACCEPT_HEADERS.filter(([, prefersJson]) => !prefersJson).map(([value]) => value);
      const requests = fc
        .record({
          body: a.encoded(a.fields(["plan"], a.planValue), NON_JSON_KINDS),
          origin: a.origin,
          fetchSite: a.fetchSite,
          cookie: a.cookieOfTwoUsers,
          forwardedFor: a.forwardedFor,
          accept: fc.constantFrom(...accepts),
        })
        .map((parts) => buildRequest({ path: "/billing/checkout", ...parts }, cookies))
        .filter((request) => !isJsonRequest(request));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("checkoutForm", request, "/billing/checkout (form)")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /billing/checkout as JSON (a JSON body, or an Accept that prefers JSON)",
    async () => {
      const requests = jsonCheckouts("/billing/checkout").filter((request) => isJsonRequest(request));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("checkoutJson", request, "/billing/checkout (JSON)")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /api/payments/checkout",
    async () => {
      const requests = jsonCheckouts("/api/payments/checkout");
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("checkoutJson", request, "/api/payments/checkout")).toEqual([]);
        });
    },
    PROPERTY_TIMEOUT_MS,
  );
});
