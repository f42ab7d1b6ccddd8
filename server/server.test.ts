import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { RawConnection, type RunningApp, logLines, startApp, waitForLog } from "./test-support.ts";

// The server entry end to end: a production build served by `node server/main.ts`
// on ports 5110-5119, driven over real sockets.

const APP_URL = "https://app.example.test";
const PRODUCTION = { APP_ENV: "production", APP_URL };

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

function send(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const loginForm = new URLSearchParams({ email: "stripe@demo.test", password: DEMO_PASSWORD }).toString();

/** What a TLS-terminating proxy forwards for a browser on https://app.example.test posting the login form. */
function proxiedLogin(port: number, forwardedFor = "203.0.113.7") {
  return send(port, "/login", {
    method: "POST",
    headers: {
      Host: "app.example.test",
      Origin: APP_URL,
      "X-Forwarded-Proto": "https",
      "X-Forwarded-For": forwardedFor,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: loginForm,
  });
}

function accessLine(app: RunningApp, requestId: string) {
  return waitForLog(app, (line) => line.event === "http.request" && line.requestId === requestId);
}

let proxied: RunningApp;
let direct: RunningApp;

beforeAll(async () => {
  [proxied, direct] = await Promise.all([
    startApp(5110, { ...PRODUCTION, TRUST_PROXY: "1" }),
    startApp(5111, PRODUCTION),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([proxied?.stop(), direct?.stop()]);
});

describe("behind a TLS-terminating proxy", () => {
  test("signing in works when the proxy is trusted (TRUST_PROXY=1)", async () => {
    const answer = await proxiedLogin(proxied.port);
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe("/account");
    expect(String(answer.headers["set-cookie"])).toMatch(/; Secure/i);
  });

  test("the forwarded https is ignored when no proxy is trusted, so the form is refused", async () => {
    const answer = await proxiedLogin(direct.port);
    expect(answer.status).toBe(403);
    expect(answer.headers["set-cookie"]).toBeUndefined();
  });

  test("the client address is the one the trusted proxy saw, whatever the client wrote before it", async () => {
    const requestId = `spoof-${Date.now()}`;
    await send(proxied.port, "/healthz", {
      headers: { "X-Request-Id": requestId, "X-Forwarded-For": "198.51.100.66, 10.9.8.7, 203.0.113.7" },
    });
    expect((await accessLine(proxied, requestId))?.clientAddress).toBe("203.0.113.7");

    const untrusted = `untrusted-${Date.now()}`;
    await send(direct.port, "/healthz", { headers: { "X-Request-Id": untrusted, "X-Forwarded-For": "198.51.100.66" } });
    expect((await accessLine(direct, untrusted))?.clientAddress).toBe("127.0.0.1");
  });
});

describe("request bodies", () => {
  test("a chunked body over 64 KiB gets 413 and the connection answers its next request at once", async () => {
    const connection = await RawConnection.open(direct.port);
    await connection.write("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = "a".repeat(16 * 1024);
    for (let i = 0; i < 6; i++) await connection.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await connection.write("0\r\n\r\n");
    expect((await connection.read()).status).toBe(413);
    await connection.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect((await connection.read(2_000)).status).toBe(200);
    connection.close();
  });

  test("1 MB with Content-Length gets 413 and the kept-alive connection answers its next request at once", async () => {
    const connection = await RawConnection.open(direct.port);
    const body = Buffer.alloc(1024 * 1024, "a");
    await connection.write(
      `POST /api/payments/portal HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await connection.write(body);
    const refused = await connection.read();
    expect(refused.status).toBe(413);
    expect(refused.headers.connection).not.toBe("close");
    await connection.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect((await connection.read(2_000)).status).toBe(200);
    expect(connection.error).toBeUndefined();
    connection.close();
  });

  test("a Content-Length larger than the body sent neither hangs the server nor crashes it", async () => {
    const connection = await RawConnection.open(direct.port);
    await connection.write("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nemail=a");
    connection.close();
    expect((await send(direct.port, "/healthz")).status).toBe(200);
  });
});

describe("methods", () => {
  test.each(["TRACE", "PROPFIND", "QUERY", "PUT", "DELETE"])("%s gets 405 with Allow, never a 500", async (method) => {
    const onPage = await send(direct.port, "/login", { method });
    expect(onPage.status).toBe(405);
    expect(onPage.headers.allow).toBe("GET, HEAD, POST");
    const onPostOnly = await send(direct.port, "/api/payments/portal", { method });
    expect(onPostOnly.status).toBe(405);
    expect(onPostOnly.headers.allow).toBe("POST");
  });

  test("GET on a POST-only route gets 405 with Allow: POST", async () => {
    const answer = await send(direct.port, "/billing/portal");
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe("POST");
  });

  test("a method Node does not even parse gets 405", async () => {
    const connection = await RawConnection.open(direct.port);
    await connection.write("BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const answer = await connection.read();
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBeDefined();
    connection.close();
  });
});

describe("malformed requests get a 4xx, never a 500", () => {
  test.each([
    ["bad percent-encoding", "GET /% HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"],
    ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n"],
    ["an absolute-form target", "GET http://evil.test/steal?token=abc HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.test\r\n\r\n"],
    ["a Host that is not a host", "GET / HTTP/1.1\r\nHost: evil.test/x\r\n\r\n"],
    ["a bad request line", "GET /\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"],
  ])("%s", async (_, raw) => {
    const connection = await RawConnection.open(direct.port);
    await connection.write(raw);
    const answer = await connection.read();
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    connection.close();
  });
});

describe("request ids, headers and the access log", () => {
  test("a valid X-Request-Id is kept, anything else is replaced by a new one", async () => {
    expect((await send(direct.port, "/healthz", { headers: { "X-Request-Id": "lb-1234.abc_Z" } })).headers["x-request-id"]).toBe(
      "lb-1234.abc_Z",
    );
    const replaced = (await send(direct.port, "/healthz", { headers: { "X-Request-Id": "bad id\u00e9" } })).headers["x-request-id"];
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect((await send(direct.port, "/nowhere")).headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("HTML pages carry a nonce-based CSP and the other security headers", async () => {
    const page = await send(direct.port, "/login", { headers: { Host: "app.example.test" } });
    expect(page.status).toBe(200);
    const csp = String(page.headers["content-security-policy"]);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    // Every inline script of the page carries this response's nonce.
    const scripts = page.body.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(script).toContain(`nonce="${nonce}"`);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["referrer-policy"]).toBe("same-origin");
    expect(page.headers["x-frame-options"]).toBe("DENY");
  });

  test("one access line per request with id, method, path without query, status, duration and the user once signed in", async () => {
    const signedIn = await proxiedLogin(proxied.port);
    const cookie = String(signedIn.headers["set-cookie"]).split(";")[0]!;
    const requestId = `access-${Date.now()}`;
    await send(proxied.port, "/account?token=secret-in-query", {
      headers: { Host: "app.example.test", "X-Forwarded-Proto": "https", Cookie: cookie, "X-Request-Id": requestId },
    });
    const line = await accessLine(proxied, requestId);
    expect(line).toMatchObject({ level: "info", method: "GET", path: "/account", route: "routes/account", status: 200 });
    expect(line?.durationMs).toEqual(expect.any(Number));
    expect(line?.userId).toEqual(expect.any(String));
    expect(JSON.stringify(logLines(proxied))).not.toContain("secret-in-query");

    // A resource route (the portal's JSON door) names the user too.
    const portalRequestId = `access-portal-${Date.now()}`;
    await send(proxied.port, "/api/payments/portal", {
      method: "POST",
      headers: {
        Host: "app.example.test",
        "X-Forwarded-Proto": "https",
        Cookie: cookie,
        "Content-Type": "application/json",
        "X-Request-Id": portalRequestId,
      },
      body: "{}",
    });
    expect(await accessLine(proxied, portalRequestId)).toMatchObject({ method: "POST", path: "/api/payments/portal", userId: line?.userId });
  });

  test("a 404 is logged at info, never as an error", async () => {
    const requestId = `notfound-${Date.now()}`;
    expect((await send(direct.port, "/favicon.ico", { headers: { "X-Request-Id": requestId } })).status).toBe(404);
    expect(await accessLine(direct, requestId)).toMatchObject({ level: "info", status: 404 });
    expect(logLines(direct).filter((line) => line.level === "error")).toEqual([]);
  });

  test("hostile requests leave no stack, cookie value or attacker URL in the log", async () => {
    const cookieValue = "session-value-that-must-not-be-logged";
    for (const method of ["TRACE", "PROPFIND", "QUERY"]) await send(direct.port, "/", { method, headers: { Cookie: `__session=${cookieValue}` } });
    await send(direct.port, "/login", {
      method: "POST",
      headers: { Cookie: `__session=${cookieValue}`, Authorization: "Bearer token-that-must-not-be-logged", "Content-Type": "application/x-www-form-urlencoded" },
      body: "email=x%40example.test&password=wrong-password-123",
    });
    for (const raw of ["GET /% HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", "GET http://evil.test/attacker-path HTTP/1.1\r\nHost: a\r\n\r\n"]) {
      const connection = await RawConnection.open(direct.port);
      await connection.write(raw);
      await connection.read();
      connection.close();
    }
    // Everything above is logged by the time this request's own line is.
    const marker = `hostile-end-${Date.now()}`;
    await send(direct.port, "/healthz", { headers: { "X-Request-Id": marker } });
    expect(await accessLine(direct, marker)).toBeDefined();
    const log = direct.output.join("\n");
    expect(log).toContain('"method":"TRACE"');
    expect(log).not.toMatch(/^\s+at /m);
    expect(log).not.toContain(cookieValue);
    expect(log).not.toContain("token-that-must-not-be-logged");
    expect(log).not.toContain("evil.test");
    expect(log).not.toContain("wrong-password-123");
  });

  test("GET /healthz answers 200 without a session and is not cached", async () => {
    const answer = await send(direct.port, "/healthz");
    expect(answer.status).toBe(200);
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect(answer.headers["set-cookie"]).toBeUndefined();
  });
});

describe("development on another loopback name", () => {
  test("a page opened on 127.0.0.1 moves to APP_URL on localhost instead of a 403", async () => {
    const dev = await startApp(5112, { APP_URL: "http://localhost:5112" });
    try {
      const answer = await send(dev.port, "/login?redirectTo=%2Faccount", { headers: { Accept: "text/html" } });
      expect(answer.status).toBe(302);
      expect(answer.headers.location).toBe("http://localhost:5112/login?redirectTo=%2Faccount");
    } finally {
      await dev.stop();
    }
  }, 120_000);
});

describe("the embedded database's WebAssembly", () => {
  test("runs on the baseline compiler only, with a small young generation and two malloc arenas, in the process that was started (ADR 019)", async () => {
    const app = await startApp(5116);
    try {
      const commandLine = readFileSync(`/proc/${app.process.pid}/cmdline`, "utf8").split("\0");
      expect(commandLine).toEqual(expect.arrayContaining(["--liftoff-only", "--max-semi-space-size=2"]));
      expect(readFileSync(`/proc/${app.process.pid}/environ`, "utf8").split("\0")).toContain("MALLOC_ARENA_MAX=2");
      expect((await send(app.port, "/healthz")).status).toBe(200);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    // A build that opens no database (the benchmark's floor and peer) says so and keeps V8's defaults.
    const plain = await startApp(5116, { EMBEDDED_V8_FLAGS: "0" });
    try {
      expect(readFileSync(`/proc/${plain.process.pid}/cmdline`, "utf8").split("\0")).not.toContain("--liftoff-only");
    } finally {
      await plain.stop();
    }
  }, 120_000);
});

describe("shutdown", () => {
  test("SIGTERM lets accepted requests finish, /readyz says 503 meanwhile, and the process exits 0", async () => {
    const app = await startApp(5113, { SHUTDOWN_GRACE_MS: "10000" });
    // Three logins whose bodies are still on their way when SIGTERM arrives: accepted, not finished.
    const slow = await Promise.all(
      [0, 1, 2].map(async () => {
        const connection = await RawConnection.open(app.port);
        await connection.write(
          `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${loginForm.length}\r\n\r\n${loginForm.slice(0, 10)}`,
        );
        return connection;
      }),
    );
    // A probe whose request has begun, as a load balancer's would be.
    const probe = await RawConnection.open(app.port);
    await probe.write("GET /readyz HTTP/1.1\r\n");
    await new Promise((resolve) => setTimeout(resolve, 300));

    app.process.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await probe.write(`Host: 127.0.0.1:${app.port}\r\n\r\n`);
    expect((await probe.read()).status).toBe(503);

    for (const connection of slow) await connection.write(loginForm.slice(10));
    const answers = await Promise.all(slow.map((connection) => connection.read(10_000)));
    for (const answer of answers) expect(answer.status).toBe(302);
    expect(await app.exitCode).toBe(0);
    expect(app.output.join("\n")).toContain('"event":"server.stopped"');
  }, 120_000);
});

const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const postgresUp = await (async () => {
  const client = new Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
})();

describe.skipIf(!postgresUp)("readiness on a PostgreSQL server", () => {
  test("/readyz is 503 while the database is unreachable and 200 again once it is back, without a restart", async () => {
    const name = `readyz_${Date.now()}_${process.pid}`;
    const admin = new Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    const app = await startApp(5114, { DATABASE_URL: url.href, PAYMENT_EMULATOR: "0", SEED_DEMO_DATA: "0" });
    try {
      expect((await send(app.port, "/readyz")).status).toBe(200);
      // On PostgreSQL the optimising compiler stays: undici's and Prisma's WebAssembly run on it (ADR 019).
      expect(readFileSync(`/proc/${app.process.pid}/cmdline`, "utf8").split("\0")).not.toContain("--liftoff-only");

      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name]);
      const down = await send(app.port, "/readyz");
      expect(down.status).toBe(503);
      expect(down.headers["cache-control"]).toBe("no-store");
      expect((await send(app.port, "/healthz")).status).toBe(200);

      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      let status = 0;
      for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
        status = (await send(app.port, "/readyz")).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(status).toBe(200);
    } finally {
      await app.stop();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  }, 120_000);

  test("a start against an unusable DATABASE_URL fails with one line naming it, never its password", async () => {
    for (const databaseUrl of ["postgres://app:hunter2-secret@127.0.0.1:1/app", "postgres://app:hunter2@secret@host:99999/app"]) {
      const failed = await startApp(5115, { DATABASE_URL: databaseUrl }).then(
        () => "started",
        (error: Error) => error.message,
      );
      const lines = failed.split("\n").filter((line) => line.startsWith("Cannot start"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("DATABASE_URL");
      expect(failed).not.toContain("hunter2");
      expect(failed).not.toMatch(/^\s+at /m);
    }
    const missing = new URL(POSTGRES_URL);
    missing.pathname = "/database_that_does_not_exist";
    const failed = await startApp(5115, { DATABASE_URL: missing.href }).then(
      () => "started",
      (error: Error) => error.message,
    );
    expect(failed).toMatch(/Cannot start: .*DATABASE_URL.*does not exist/);
  }, 120_000);
});
