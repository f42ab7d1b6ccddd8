import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { DEMO_EMAIL, DEMO_PASSWORD, type SessionCookies, arbitraries, buildRequest } from "./arbitraries.ts";
import { assertEach, createBodyFuzz } from "./body-fuzz.ts";
import { NUM_RUNS, PROPERTY_TIMEOUT_MS } from "./fuzz-settings.ts";
import { signIn } from "./http-client.ts";
import { checkLogOfEachTest, cookieSecrets } from "./log-scan.ts";

// Issue 19's new doors: password reset. Bad input gets a clear 4xx, never a 500, and no mail goes out where none is due.

let app: RunningApp;
let fuzz: ReturnType<typeof createBodyFuzz>;
/** A signed-in session to send along: a reset must work (or refuse) the same for a signed-in browser. */
let cookies: SessionCookies;

beforeAll(async () => {
  app = await startApp({ port: 5440, env: { TRUST_PROXY: "1" } });
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

type CaughtMail = { to: string[]; subject: string };

async function caughtMail(): Promise<CaughtMail[]> {
  const mailbox = app.portalOrigins.find((origin) => origin.startsWith("http://127.0.0.1"))!;
  return (await (await fetch(`${mailbox}/__emulator/mail`)).json()) as CaughtMail[];
}

describe(`every generated body (${NUM_RUNS} per door) to the password reset doors gets a status the SPEC lists, never a 500`, () => {
  test(
    "POST /forgot-password",
    async () => {
      const a = arbitraries(app.origin);
      const email = fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom(DEMO_EMAIL, ` ${DEMO_EMAIL.toUpperCase()} `, `${DEMO_EMAIL}\r\nBcc: all@example.test`, `"${DEMO_EMAIL}"`, `${"a".repeat(300)}@example.test`) },
        { weight: 1, arbitrary: fc.emailAddress() },
      );
      const body = fc.oneof(
        { weight: 9, arbitrary: a.fields(["email"]) },
        { weight: 1, arbitrary: email.map((value) => [["email", value]] as [string, unknown][]) },
      );
      const requests = fc
        .record({ body: a.encoded(body as never), origin: a.origin, fetchSite: a.fetchSite, cookie: a.cookie, forwardedFor: a.forwardedFor })
        .map((parts) => buildRequest({ path: "/forgot-password", ...parts }, cookies));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("forgotPassword", request, "/forgot-password")).toEqual([]);
        });
      // Mail only to the account that exists, at most as often as its per-email limit allows; none to anyone else.
      await new Promise((done) => setTimeout(done, 1_500));
      const mails = await caughtMail();
      expect(mails.filter((mail) => !mail.to.every((to) => to === DEMO_EMAIL))).toEqual([]);
      expect(mails.length).toBeLessThanOrEqual(5);
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "POST /reset-password",
    async () => {
      const before = (await caughtMail()).length;
      const a = arbitraries(app.origin);
      const tokenValue = fc.oneof(fc.string({ minLength: 43, maxLength: 43 }), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.constantFrom("", "%00", "x".repeat(5000)));
      const body = fc.oneof(
        { weight: 3, arbitrary: a.fields(["token", "password"]) },
        { weight: 1, arbitrary: fc.record({ token: tokenValue, password: fc.string({ maxLength: 200 }) }).map(({ token, password }) => [["token", token], ["password", password]] as [string, unknown][]) },
      );
      const requests = fc
        .record({ body: a.encoded(body as never), origin: a.origin, fetchSite: a.fetchSite, cookie: a.cookie, forwardedFor: a.forwardedFor })
        .map((parts) => buildRequest({ path: "/reset-password", ...parts }, cookies));
      await assertEach(requests, async (request) => {
          expect(await fuzz.problemsWith("resetPassword", request, "/reset-password")).toEqual([]);
        });
      expect((await caughtMail()).length).toBe(before);
    },
    PROPERTY_TIMEOUT_MS,
  );
});
