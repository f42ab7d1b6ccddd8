import { afterAll, beforeAll, expect, test } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";

// The portal's hot path (issue 9): a signed-in click on "Manage billing" reads the session, the user
// and their customer in one SQL statement, then calls the provider, and answers. The billing
// activity's record of the open (SPEC "Beyond the portal") is written behind (ADR 017): it is
// not among the statements the answer waited for, and it reaches the table when the queue flushes.

const APP = "http://app.test";
const statements: string[] = [];
let services: Services;

beforeAll(async () => {
  const config = parseConfig({
    APP_ENV: "test",
    APP_URL: APP,
    PAYMENT_PROVIDER: "polar",
    PAYMENT_EMULATOR: "1",
    // The provider-call limit is its own statement (tests/rate-limits.test.ts); off here.
    RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0",
  });
  // The job runner's poll is another client's statement, not the request's: it is not started here
  // (on PostgreSQL its poll landed between a request's statements and was counted as theirs).
  services = await startServices(config, {
    database: await createTestDatabase({ onQuery: (sql) => statements.push(sql) }),
    startJobs: false,
  });
}, 60_000);
afterAll(() => services?.stop());

async function signIn(email: string): Promise<string> {
  const result = await services.auth.login(
    new Request(`${APP}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password: DEMO_PASSWORD }),
    }),
  );
  if (!result.ok) throw new Error(`could not sign in ${email}`);
  return result.headers.get("Set-Cookie")!.split(";")[0]!;
}

function portalPost(cookie: string): Request {
  return new Request(`${APP}/billing/portal`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: APP, Cookie: cookie },
    body: new URLSearchParams({ returnUrl: "/account" }),
  });
}

/** The statements the answer waited for; then the activity's insert, written behind, once flushed. */
async function reads(): Promise<string[]> {
  const answered = [...statements];
  expect(answered.filter((sql) => sql.includes('"BillingActivity"'))).toEqual([]);
  await services.activity.flush();
  expect(statements.slice(answered.length).filter((sql) => /INSERT INTO (?:"public"\.)?"BillingActivity"/.test(sql))).toHaveLength(1);
  return answered;
}

test("opening the portal asks the database one question: session, user and customer together", async () => {
  const cookie = await signIn(DEMO_ACCOUNTS.find((account) => account.customer?.provider === "polar")!.email);
  statements.length = 0;
  const response = await services.handlePortalRequest(portalPost(cookie), "form-or-json");
  expect(response.status).toBe(303);
  expect(new URL(response.headers.get("Location")!).origin).toBe(services.emulator!.origin);
  expect(await reads()).toHaveLength(1);
});

test("a signed-in user without a customer is answered from that same one statement", async () => {
  const cookie = await signIn(DEMO_ACCOUNTS.find((account) => !account.customer)!.email);
  statements.length = 0;
  const response = await services.handlePortalRequest(portalPost(cookie), "form-or-json");
  expect(response.status).toBe(303);
  expect(response.headers.get("Location")).toBe("/account");
  expect(await reads()).toHaveLength(1);
});
