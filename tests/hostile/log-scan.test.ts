import { describe, expect, test } from "vitest";
import { SUITE_SESSION_SECRET } from "./app-process.ts";
import { cookieSecrets, findLeaks } from "./log-scan.ts";

// The suite's log check must see what it looks for: each kind of leak in a line shaped like the app's.
describe("the log check", () => {
  const cookie = "__session=IlM5OW5UZjJOM2xWbEE5aUtTdzhNcmhWSGJsbVlaV3g1SmRiSmtZcXBpbFUi.SxdASUkC1PH7Lt%2F%2BugZiiziZXV4A8IO4TYQh8001Bis";

  test("passes a clean access log", () => {
    const log = '{"level":"info","event":"request","method":"POST","path":"/login","status":302}\nPOST /login 302 - - 190.805 ms\n';
    expect(findLeaks(log, [...cookieSecrets(cookie), "portal-demo-pass"])).toEqual([]);
  });

  test.each([
    ["a printed stack", "TypeError: x\n    at createRemixRequest (file:///a.js:39:37)\n"],
    ["a stack inside a JSON line", '{"err":{"stack":"TypeError: x\\n    at createRemixRequest (file:///a.js:39:37)"}}'],
    ["a Stripe key", '{"msg":"Invalid API Key provided: sk_test_123"}'],
    ["a Polar token", '{"token":"polar_oat_abc"}'],
    ["a webhook secret", '{"secret":"whsec_abc"}'],
    ["a Polar webhook secret", '{"secret":"polar_whs_abc"}'],
    ["a portal token", '{"url":"https://billing.stripe.com/p/session?customer_session_token=abc"}'],
    ["a signed URL", '{"url":"https://app.lemonsqueezy.com/my-orders?expires=1&signature=abc"}'],
    ["a cookie header", '{"req":{"headers":{"cookie":"__session=abc"}}}'],
    ["the session secret", `{"config":"${SUITE_SESSION_SECRET}"}`],
    ["the session cookie's value", `{"cookie":1,"value":"${cookie.split("=")[1]}"}`],
    ["the session id inside the cookie", '{"sessionId":"S99nTf2N3lVlA9iKSw8MrhVHblmYZWx5JdbJkYqpilU"}'],
    ["a password the suite sent", '{"body":"email=a%40b.test&password=portal-demo-pass"}'],
  ])("finds %s", (_name, log) => {
    expect(findLeaks(log, [...cookieSecrets(cookie), "portal-demo-pass"])).not.toEqual([]);
  });
});
