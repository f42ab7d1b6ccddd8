import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { prepareEmbeddedDataDir } from "../tests/support/embedded-template.ts";
import { ensureProductionBuild } from "../tests/support/production-build.ts";

/**
 * Helpers for the server tests: the shared production build (./build), real server processes started with
 * `node server/main.ts`, and raw HTTP/1.1 over sockets.
 */

/** The production build the app is served from (./build, made once per change; tests/support/production-build.ts). */
export async function buildOnce(): Promise<string> {
  return ensureProductionBuild();
}

export type RunningApp = {
  port: number;
  /** http://127.0.0.1:port */
  address: string;
  /** Every line the process wrote, stdout and stderr. */
  output: string[];
  process: ChildProcess;
  exitCode: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
};

const BASE_ENV = {
  PAYMENT_EMULATOR: "1",
  SESSION_SECRET: "server-test-session-secret-0123456789abcdef",
  LOG_LEVEL: "info",
};

/** Starts `node server/main.ts` on `port` with a fresh data folder; resolves once it listens. */
export async function startApp(port: number, env: Record<string, string> = {}): Promise<RunningApp> {
  const buildPath = await buildOnce();
  const dataDir = await mkdtemp(path.join(tmpdir(), "portal-server-data-"));
  // A copy of the migrated template instead of a new cluster (tests/support/embedded-template.ts).
  if (!env.DATABASE_URL) await prepareEmbeddedDataDir(dataDir);
  const child = spawn(process.execPath, [path.resolve("server/main.ts"), buildPath], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...BASE_ENV,
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      // Not a test of hashing: demo seeds and logins at a millisecond each (a deployment refuses this).
      ...(env.APP_ENV === "production" ? {} : { PASSWORD_HASH_COST: "low" }),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exitCode = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exitCode.then(() => rm(dataDir, { recursive: true, force: true }));
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join("\n")}`)), 90_000);
    const collect = (stream: NodeJS.ReadableStream) => {
      let pending = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          output.push(line);
          if (line.includes('"event":"server.listening"')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      stream.on("end", () => pending && output.push(pending));
    };
    collect(child.stdout!);
    collect(child.stderr!);
    void exitCode.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${output.join("\n")}`));
    });
  });
  await listening;
  return {
    port,
    address: `http://127.0.0.1:${port}`,
    output,
    process: child,
    exitCode,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exitCode;
    },
  };
}

/** JSON log lines the app wrote (other lines are skipped). */
export function logLines(app: RunningApp): Record<string, unknown>[] {
  return app.output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

export type RawResponse = { status: number; headers: Record<string, string>; body: string };

/**
 * One HTTP/1.1 connection driven by hand: write raw bytes, read whole
 * responses (Content-Length or chunked) one at a time.
 */
export class RawConnection {
  readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  error: NodeJS.ErrnoException | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on("error", (error) => {
      this.error = error;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async more(deadline: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed${this.error ? ` (${this.error.code})` : ""}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("timed out waiting for a response");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The next whole response, within `timeoutMs` (`head`: a response to HEAD, without a body). */
  async read(timeoutMs = 5_000, { head = false } = {}): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    const until = async (ready: () => boolean) => {
      while (!ready()) await this.more(deadline);
    };
    let end = -1;
    await until(() => (end = this.buffer.indexOf("\r\n\r\n")) !== -1);
    const [statusLine = "", ...headerLines] = this.buffer.subarray(0, end).toString("latin1").split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(" ")[1]);
    let pos = end + 4;
    const parts: Buffer[] = [];
    if (head) {
      // no body
    } else if (headers["transfer-encoding"] === "chunked") {
      for (;;) {
        let lineEnd = -1;
        await until(() => (lineEnd = this.buffer.indexOf("\r\n", pos)) !== -1);
        const size = Number.parseInt(this.buffer.subarray(pos, lineEnd).toString("latin1"), 16);
        await until(() => this.buffer.length >= lineEnd + 2 + size + 2);
        parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        pos = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      const length = Number(headers["content-length"] ?? 0);
      await until(() => this.buffer.length >= pos + length);
      parts.push(this.buffer.subarray(pos, pos + length));
      pos += length;
    }
    const body = Buffer.concat(parts).toString("utf8");
    this.buffer = Buffer.from(this.buffer.subarray(pos));
    return { status, headers, body };
  }

  /** Resolves once the server has closed the connection (within `timeoutMs`). */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("connection still open");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    this.socket.destroy();
  }
}

/** The first JSON log line matching `predicate`, waiting for it (pino writes asynchronously). */
export async function waitForLog(
  app: RunningApp,
  predicate: (line: Record<string, unknown>) => boolean,
  timeoutMs = 3_000,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logLines(app).find(predicate);
    if (line || Date.now() > deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
