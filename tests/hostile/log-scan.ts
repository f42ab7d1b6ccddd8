import { randomUUID } from "node:crypto";
import { beforeAll, beforeEach, expect } from "vitest";
import { type RunningApp, SUITE_SESSION_SECRET } from "./app-process.ts";

/** Text that must never reach a log line (SPEC "Server, proxies and operations"), whatever the values. */
const FORBIDDEN_PATTERNS: [string, RegExp][] = [
  // A stack frame printed as is, or inside a JSON string.
  ["a stack frame", /(\n|\\n)\s+at \S/],
  ["a Stripe key", /\b[sr]k_(test|live)_/],
  ["a Polar token", /polar_oat_/],
  ["a webhook secret", /whsec_/],
  ["a Polar webhook secret", /polar_whs_/],
  ["a portal session token", /customer_session_token=/],
  ["a signed portal URL", /[?&]signature=/],
  ["a Cookie header", /"cookie"\s*:\s*"[^"]/i],
  ["a Set-Cookie header", /"set-cookie"\s*:\s*\[?\s*"[^"]/i],
];

/**
 * What in `log` gives away something it must not: the patterns above, and
 * each of `secrets` (session cookies, passwords and portal URLs this run
 * sent or received, the session secret). Answers one line per finding.
 */
export function findLeaks(log: string, secrets: Iterable<string>): string[] {
  const findings: string[] = [];
  for (const [what, pattern] of FORBIDDEN_PATTERNS) {
    const match = pattern.exec(log);
    if (match) findings.push(`${what}: ${excerpt(log, match.index)}`);
  }
  for (const secret of new Set([SUITE_SESSION_SECRET, ...secrets])) {
    for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
      const index = log.indexOf(form);
      if (index !== -1) findings.push(`a secret the suite used (${secret.slice(0, 12)}…): ${excerpt(log, index)}`);
    }
  }
  return findings;
}

/**
 * Has every test of the file check the log of its own traffic for leaks: what
 * the app wrote from the test's start until all the test sent is logged (tests
 * run side by side also see each other's lines: more, never less). The
 * start-up and the file's `beforeAll` (sign-ins) are checked once, before the
 * first test. Call after the `beforeAll` that starts the app.
 */
export function checkLogOfEachTest(app: () => RunningApp, secrets: () => Iterable<string>) {
  const check = async (from: number) => {
    await logCaughtUp(app());
    expect(findLeaks(app().log().slice(from), secrets())).toEqual([]);
  };
  beforeAll(() => check(0));
  beforeEach(() => {
    const from = app().log().length;
    return () => check(from);
  });
}

/**
 * Waits until the log holds the access line of a request sent now: a request's
 * line is written when its connection closes, which may be after the client
 * read the answer. An app already stopped has written all it will.
 */
async function logCaughtUp(app: RunningApp) {
  const requestId = `log-scan-${randomUUID()}`;
  try {
    const response = await fetch(`${app.origin}/healthz`, { headers: { "X-Request-Id": requestId }, signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (!app.log().includes(`"requestId":"${requestId}"`)) {
    if (Date.now() > deadline) throw new Error(`the app did not log request ${requestId} within 10 s`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

function excerpt(log: string, index: number): string {
  return JSON.stringify(log.slice(Math.max(0, index - 120), index + 120));
}

/** The parts of a `name=value` session cookie worth looking for: the whole value and its signed payload. */
export function cookieSecrets(cookie: string): string[] {
  const value = cookie.slice(cookie.indexOf("=") + 1);
  const decoded = safeDecode(value);
  const payload = decoded.slice(0, decoded.lastIndexOf(".") > 0 ? decoded.lastIndexOf(".") : undefined);
  const sessionId = safeBase64(payload);
  return [value, decoded, payload, ...(sessionId && sessionId.length >= 16 ? [sessionId] : [])];
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function safeBase64(value: string): string | null {
  try {
    const text = Buffer.from(value, "base64").toString("utf8");
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "string" ? parsed : null;
  } catch {
    return null;
  }
}
