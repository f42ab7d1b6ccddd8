import { Agent, request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { RawConnection, type RunningApp, startApp } from "./test-support.ts";

// What a client on a connection the server is about to close still gets: the 413 it is owed while it is
// still sending, and an answer to every request a keep-alive pool sends while the server drains.
// Ports 5120-5129.

type Outcome = { status: number; connection: string | undefined } | { error: string };

/** One request through `agent` (a keep-alive pool), as a load balancer sends it. */
function send(agent: Agent, port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<Outcome>((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
      res.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(options.body);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("413 on a connection the client asked to close", () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(5120, { APP_ENV: "production", APP_URL: "https://app.example.test" });
  }, 180_000);
  afterAll(() => app?.stop());

  test("100 chunked uploads of 192 KiB in random pieces with Connection: close all read their 413", async () => {
    const total = 192 * 1024;
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const connection = await RawConnection.open(app.port);
        try {
          await connection.write(
            "POST /api/payments/portal HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
          );
          // 4 to 51 pieces: most are still on their way when the 413 is written.
          // A write that fails (EPIPE, ECONNRESET) is a client that could not finish its request: a failure too.
          const pieces = 4 + ((i * 7919) % 48);
          const size = Math.ceil(total / pieces);
          for (let sent = 0; sent < total; sent += size) {
            const piece = "a".repeat(Math.min(size, total - sent));
            await connection.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
            await pause(1); // as a client reading a file does: the server has answered long before the last piece
          }
          await connection.write("0\r\n\r\n");
          return (await connection.read(5_000)).status;
        } catch (error) {
          return connection.error?.code ?? (error as Error).message;
        } finally {
          connection.close();
        }
      }),
    );
    expect(outcomes.filter((outcome) => outcome !== 413)).toEqual([]);
  }, 60_000);
});

describe("SIGTERM under a keep-alive pool", () => {
  test("20 portal opens and 20 logins sent on pooled connections as SIGTERM arrives are all answered", async () => {
    const app = await startApp(5121, { SHUTDOWN_GRACE_MS: "10000", RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0" });
    const agent = new Agent({ keepAlive: true, maxSockets: 40 });
    try {
      const login = new URLSearchParams({ email: "stripe@demo.test", password: DEMO_PASSWORD }).toString();
      const signedIn = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          { host: "127.0.0.1", port: app.port, path: "/login", method: "POST", agent: false, headers: { "Content-Type": "application/x-www-form-urlencoded" } },
          (res) => {
            res.resume();
            resolve(String(res.headers["set-cookie"]).split(";")[0]!);
          },
        );
        req.on("error", reject);
        req.end(login);
      });
      // The pool opens 40 connections and keeps them, as a load balancer does.
      const warm = await Promise.all(Array.from({ length: 40 }, () => send(agent, app.port, "/healthz")));
      expect(warm.every((outcome) => "status" in outcome && outcome.status === 200)).toBe(true);

      app.process.kill("SIGTERM");
      const portal = { method: "POST", headers: { Cookie: signedIn, "Content-Type": "application/json" }, body: '{"returnUrl":"/account"}' };
      const wrongLogin = {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ email: "nobody@demo.test", password: "not-the-password" }).toString(),
      };
      // Sent over the next 200 ms, each on a connection the pool already holds.
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          await pause(i * 5);
          return i % 2 === 0 ? send(agent, app.port, "/api/payments/portal", portal) : send(agent, app.port, "/login", wrongLogin);
        }),
      );
      const dropped = outcomes.filter((outcome) => "error" in outcome);
      expect(dropped).toEqual([]);
      // Answers given while draining tell the pool to let the connection go.
      expect(outcomes.some((outcome) => "status" in outcome && outcome.connection === "close")).toBe(true);
      expect(await app.exitCode).toBe(0);
    } finally {
      agent.destroy();
      await app.stop();
    }
  }, 120_000);
});
