import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningApp, startApp } from "./app-process.ts";
import { checkLogOfEachTest } from "./log-scan.ts";
import { RawConnection, type RawResponse, chunked } from "./raw-http.ts";

/** A stalled request must be answered or dropped within this (SPEC: never a hang). */
const STALL_BOUND_MS = 10_000;
/** A connection kept open after an answer must answer its next request within this. */
const NEXT_REQUEST_BOUND_MS = 3_000;

const PORT = 5440;
const HOST = `localhost:${PORT}`;
const OVER_PORTAL_LIMIT = 64 * 1024 + 1;

let app: RunningApp;

beforeAll(async () => {
  app = await startApp({ port: PORT });
});

afterAll(async () => {
  await app?.stop();
});

checkLogOfEachTest(() => app, () => []);

type Expectation = {
  /** Statuses the SPEC allows for this request. */
  status: readonly number[];
  /** Further checks on the answer: what is wrong with it. */
  check?: (response: RawResponse) => string[];
};

type RawCase = {
  name: string;
  /** Bytes beyond the declared body follow the request: they must be refused as a request of their own. */
  leftover?: boolean;
  /** The bytes, as sent, in order. */
  send: () => (string | Buffer)[];
} & Expectation;

const request = (head: string, body: string | Buffer = "") => [`${head}\r\n\r\n`, body];
const post = (path: string, headers: string[], body: Buffer | string) =>
  request([`POST ${path} HTTP/1.1`, `Host: ${HOST}`, ...headers].join("\r\n"), body);
/** `{"returnUrl":"/aaa…"}` of exactly `size` bytes. */
const jsonOf = (size: number) => Buffer.from(JSON.stringify({ returnUrl: `/${"a".repeat(Math.max(0, size - 17))}` }));
/** `returnUrl=%2Faaa…` of exactly `size` bytes. */
const formOf = (size: number) => Buffer.from(`returnUrl=%2F${"a".repeat(Math.max(0, size - 13))}`);

const allowsOnlyPost = (response: RawResponse) =>
  response.headers.get("allow")?.join() === "POST" ? [] : [`Allow: ${response.headers.get("allow")?.join() ?? "(none)"}, not POST`];
const listsAllowedMethods = (response: RawResponse) =>
  /\bGET\b/.test(response.headers.get("allow")?.join() ?? "") ? [] : [`Allow: ${response.headers.get("allow")?.join() ?? "(none)"}, not the methods it takes`];

/** SPEC "Server, proxies and operations": bodies over the route's limit, chunked or not, get 413. */
const BODY_LIMIT_CASES: RawCase[] = [
  {
    name: "a chunked JSON body over 64 KiB to /api/payments/portal",
    send: () => [
      `POST /api/payments/portal HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ...chunked(jsonOf(100 * 1024), 16 * 1024),
    ],
    status: [413],
  },
  {
    name: "a chunked form body of 1 MiB to /billing/portal, in 1 KiB chunks",
    send: () => [
      `POST /billing/portal HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ...chunked(formOf(1024 * 1024), 1024),
    ],
    status: [413],
  },
  {
    name: "a chunked body one byte over 64 KiB to /billing/portal",
    send: () => [
      `POST /billing/portal HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ...chunked(jsonOf(OVER_PORTAL_LIMIT), 8 * 1024),
    ],
    status: [413],
  },
  {
    name: "a 1 MiB body with its Content-Length to /api/payments/portal",
    send: () => post("/api/payments/portal", ["Content-Type: application/json", `Content-Length: ${1024 * 1024}`], jsonOf(1024 * 1024)),
    status: [413],
  },
];

/** Requests no browser sends: a clear 4xx, never a 500 (SPEC: "Malformed requests ... get a 4xx"). */
const MALFORMED_CASES: RawCase[] = [
  {
    name: "a Content-Length shorter than the body (the rest is a bogus request)",
    send: () => post("/api/payments/portal", ["Content-Type: application/json", "Content-Length: 5"], '{"returnUrl":"/account"}\r\n\r\n'),
    status: [400, 401],
    leftover: true,
  },
  { name: "two Host headers", send: () => request(`GET /login HTTP/1.1\r\nHost: ${HOST}\r\nHost: evil.test`), status: [400] },
  {
    name: "two different Content-Length headers",
    send: () => post("/api/payments/portal", ["Content-Type: application/json", "Content-Length: 2", "Content-Length: 30"], "{}"),
    status: [400],
  },
  {
    name: "Content-Length and Transfer-Encoding: chunked together",
    send: () => post("/api/payments/portal", ["Content-Type: application/json", "Content-Length: 7", "Transfer-Encoding: chunked"], "2\r\n{}\r\n0\r\n\r\n"),
    status: [400],
  },
  {
    name: "a chunk size that is not hexadecimal",
    send: () => post("/api/payments/portal", ["Content-Type: application/json", "Transfer-Encoding: chunked"], "zz\r\n{}\r\n0\r\n\r\n"),
    status: [400],
  },
  { name: "a request line that is not HTTP", send: () => request("HELLO THERE"), status: [400] },
  { name: "a space inside the target", send: () => request(`GET /lo gin HTTP/1.1\r\nHost: ${HOST}`), status: [400] },
  { name: "a control character in the target", send: () => request(`GET /\u0001login HTTP/1.1\r\nHost: ${HOST}`), status: [400] },
  { name: "an HTTP version that does not exist", send: () => request(`GET /login HTTP/9.9\r\nHost: ${HOST}`), status: [400, 505] },
  { name: "HTTP/1.1 without Host", send: () => request("GET /login HTTP/1.1"), status: [400] },
  { name: "HTTP/1.0 without Host", send: () => request("GET /login HTTP/1.0"), status: [400] },
  {
    name: "an absolute-form target naming another host",
    send: () => request(`GET http://evil.test/login HTTP/1.1\r\nHost: ${HOST}`),
    status: [400, 421],
    check: (response) => (response.headers.get("location")?.join().includes("evil.test") ? ["redirected to the other host"] : []),
  },
  { name: "a path of /%", send: () => request(`GET /% HTTP/1.1\r\nHost: ${HOST}`), status: [400] },
  { name: "a path with broken percent-encoding", send: () => request(`GET /login%E0%A4%A HTTP/1.1\r\nHost: ${HOST}`), status: [400, 404] },
  { name: "a POST to a path of /%zz", send: () => post("/%zz", ["Content-Type: application/json", "Content-Length: 2"], "{}"), status: [400, 404, 405] },
  {
    name: "a 20 KiB header",
    send: () => request(`GET /login HTTP/1.1\r\nHost: ${HOST}\r\nX-Padding: ${"a".repeat(20 * 1024)}`),
    status: [431],
  },
  {
    name: "a 64 KiB Cookie",
    send: () => request(`GET /account HTTP/1.1\r\nHost: ${HOST}\r\nCookie: __session=${"b".repeat(64 * 1024)}`),
    status: [431],
  },
];

/** SPEC: "Any method other than POST on a POST-only route: 405 with Allow: POST, including TRACE and unknown methods." */
const METHOD_CASES: RawCase[] = [
  ...["/billing/portal", "/api/payments/portal"].flatMap((path) =>
    ["GET", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "QUERY", "FOO"].map(
      (method): RawCase => ({
        name: `${method} ${path}`,
        send: () => request(`${method} ${path} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0`),
        status: [405],
        check: allowsOnlyPost,
      }),
    ),
  ),
  // Pages answer GET and POST: other methods get 405 and the list of those they do take.
  ...["/", "/login"].flatMap((path) =>
    ["TRACE", "PROPFIND", "QUERY", "FOO"].map(
      (method): RawCase => ({
        name: `${method} ${path}`,
        send: () => request(`${method} ${path} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0`),
        status: [405],
        check: listsAllowedMethods,
      }),
    ),
  ),
];

/**
 * Sends a case on a fresh connection and answers what breaks the SPEC:
 * the answer's status, then the connection must be closed cleanly or still
 * serve, a following request on it answered promptly (SPEC: "the connection
 * stays usable or is closed cleanly").
 */
async function problemsWith(rawCase: RawCase): Promise<string[]> {
  const connection = await RawConnection.open(PORT);
  try {
    const writing = connection.writeAll(rawCase.send());
    const answer = await connection.nextResponse(STALL_BOUND_MS);
    await writing;
    if (typeof answer === "string") return [`no answer, the connection ${answer}`];
    if (!rawCase.status.includes(answer.status)) return [`answered ${answer.status}, not ${rawCase.status.join(" or ")}`];
    const problems = rawCase.check?.(answer) ?? [];
    if (rawCase.leftover) {
      // What followed the declared body is a request of its own: refused, or the connection closed.
      const next = await connection.nextResponse(NEXT_REQUEST_BOUND_MS);
      if (next === "closed") return problems;
      if (typeof next === "string") return [...problems, `after the leftover bytes, the connection ${next}`];
      return next.status >= 400 && next.status < 500 ? problems : [...problems, `the leftover bytes answered ${next.status}`];
    }
    return [...problems, ...(await connectionProblems(connection, answer))];
  } finally {
    connection.destroy();
  }
}

async function connectionProblems(connection: RawConnection, response: RawResponse): Promise<string[]> {
  const closing = response.headers.get("connection")?.some((value) => /close/i.test(value)) ?? false;
  // A server that closes says so, or does it at once: give its FIN a moment to arrive.
  const ending = await connection.waitForEnd(closing ? NEXT_REQUEST_BOUND_MS : 300);
  if (ending === "closed") return [];
  if (ending === "reset") return ["the connection was reset after the answer"];
  await connection.write(`GET /login HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  const next = await connection.nextResponse(NEXT_REQUEST_BOUND_MS);
  if (next === "closed") return [];
  if (typeof next === "string") return [`the next request on the connection: ${next} after ${NEXT_REQUEST_BOUND_MS} ms`];
  return next.status === 200 ? [] : [`the next request on the connection answered ${next.status}`];
}

/** A request whose body never fully arrives: answered with a 4xx or closed within the bound, never left hanging. */
async function stalledBodyOutcome(): Promise<string> {
  const connection = await RawConnection.open(PORT);
  try {
    await connection.writeAll(post("/api/payments/portal", ["Content-Type: application/json", "Content-Length: 1000"], '{"returnUrl":'));
    const answer = await connection.nextResponse(STALL_BOUND_MS);
    if (typeof answer === "string") return answer === "closed" ? "closed cleanly" : `${answer} after ${STALL_BOUND_MS} ms`;
    return answer.status >= 400 && answer.status < 500 ? "answered with a 4xx" : `answered ${answer.status}`;
  } finally {
    connection.destroy();
  }
}

// Each case has its own connection: they run side by side.
describe.concurrent("raw requests get the SPEC's answer, never a 500, a reset or a hang", () => {
  describe("bodies over the limit get 413, chunked or not, and the connection stays usable or closes cleanly", () => {
    test.each(BODY_LIMIT_CASES.map((c) => [c.name, c] as const))("%s", async (_name, rawCase) => {
      expect(await problemsWith(rawCase)).toEqual([]);
    });
  });

  describe("malformed requests get a 4xx", () => {
    test.each(MALFORMED_CASES.map((c) => [c.name, c] as const))("%s", async (_name, rawCase) => {
      expect(await problemsWith(rawCase)).toEqual([]);
    });

    test(
      "a Content-Length longer than the body sent is answered with a 4xx or closed within the bound, not left hanging",
      async () => {
        expect(await stalledBodyOutcome()).toMatch(/^(answered with a 4xx|closed cleanly)$/);
      },
      STALL_BOUND_MS + 10_000,
    );
  });

  describe("methods other than those a route takes get 405 with Allow", () => {
    test.each(METHOD_CASES.map((c) => [c.name, c] as const))("%s", async (_name, rawCase) => {
      expect(await problemsWith(rawCase)).toEqual([]);
    });
  });
});
