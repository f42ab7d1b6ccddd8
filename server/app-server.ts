import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import { createHeaders, sendResponse } from "@remix-run/node-fetch-server";
import { RouterContextProvider, createRequestHandler, type ServerBuild } from "react-router";
import serveStatic from "serve-static";
import { isProviderWebhookPath } from "../app/http/cross-site.ts";
import type { RequestInfo } from "../app/http/request-info.ts";
import { SECURITY_HEADERS } from "../app/http/security-headers.ts";
import type { ServerRuntime } from "../app/http/server-runtime.server.ts";
import { bodyLimitFor, drainBody, limitedBody } from "./body-limit.ts";
import { FORWARDING_HEADERS, forwardedView } from "./forwarded.ts";
import { loggablePath, malformedRequest, requestIdFor } from "./request-checks.ts";
import { APP_METHODS, createMethodTable } from "./route-methods.ts";

/**
 * The app's HTTP server: node:http in front of React Router's request
 * handler. Everything below React Router that the SPEC asks of the edge
 * happens here, in request order: request id and security headers,
 * malformed requests (400), trusted proxy headers (TRUST_PROXY), methods
 * (405 with Allow, from the build's routes), cross-origin writes (403), static files, body limits that
 * hold for chunked bodies (413), the access log, and draining on shutdown.
 */
export type AppServerOptions = {
  build: ServerBuild;
  runtime: ServerRuntime;
  /** build/client: hashed assets and public files. */
  clientDir: string;
};

export function createAppServer({ build, runtime, clientDir }: AppServerOptions) {
  const { config } = runtime;
  const handle = createRequestHandler(build, "production");
  const methods = createMethodTable(build.routes);
  const assetsDir = path.join(clientDir, "assets");
  const staticFiles = serveStatic(clientDir, {
    index: false,
    redirect: false,
    maxAge: "1h",
    // Vite's assets carry a content hash in their names: cached for good.
    setHeaders(res, file) {
      if (file.startsWith(assetsDir + path.sep)) res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
    },
  });
  let draining = false;

  const server = createServer(
    {
      // Above the usual 60 s idle timeout of load balancers, so they close idle connections first.
      keepAliveTimeout: 65_000,
      // A request (headers and body) that stalls is answered 408 and closed: our bodies are small (64 KiB,
      // webhooks 1 MiB), so 8 s is generous, and a lying Content-Length cannot hold a connection for long.
      headersTimeout: 8_000,
      requestTimeout: 8_000,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      onRequest(req, res).catch((error: unknown) => {
        runtime.logger().error({ event: "server.unexpected_error", errorName: errorName(error) });
        if (!res.headersSent) refuse(res, 500, "Internal Server Error");
        else res.destroy();
      });
    },
  );
  server.on("clientError", onClientError);
  const connections = trackConnections(server);

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const info: RequestInfo = {
      requestId: requestIdFor(req.headers["x-request-id"]),
      clientAddress: req.socket.remoteAddress ?? "unknown",
      nonce: randomBytes(16).toString("base64"),
    };
    let routeId: string | undefined;
    res.setHeader("X-Request-Id", info.requestId);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.once("close", () => {
      runtime.logger().info({
        event: "http.request",
        requestId: info.requestId,
        method: req.method,
        path: loggablePath(req.url),
        route: routeId,
        clientAddress: info.clientAddress,
        status: res.statusCode,
        ...(res.writableFinished ? {} : { aborted: true }),
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        userId: info.userId,
      });
    });

    const malformed = malformedRequest(req);
    if (malformed) return refuse(res, malformed.status, "Bad Request", { close: true });

    const view = forwardedView(req.headers, req.socket as Socket & { encrypted?: boolean }, config.server.trustProxy);
    // A Host (or X-Forwarded-Host) that is not just host[:port] would move the path around.
    const url = view.host && VALID_HOST.test(view.host) ? URL.parse(`${view.protocol}//${view.host}${req.url}`) : null;
    if (!url) return refuse(res, 400, "Bad Request", { close: true });
    info.clientAddress = view.clientAddress;

    const method = req.method ?? "GET";
    const route = methods.allowed(url.pathname);
    routeId = route?.routeId;
    if (!APP_METHODS.has(method) || (route && !route.methods.includes(method))) {
      res.setHeader("Allow", (route?.methods ?? ["GET", "HEAD"]).join(", "));
      return refuse(res, 405, "Method Not Allowed");
    }

    // React Router's own check, made here first so a cross-site write is a plain 403 (and an
    // info line) rather than React Router's thrown error, logged as unexpected.
    const origin = req.headers.origin;
    if (method === "POST" && origin !== undefined && origin !== url.origin && !isProviderWebhookPath(url.pathname)) {
      return refuse(res, 403, "Forbidden");
    }

    if ((method === "GET" || method === "HEAD") && path.extname(url.pathname) !== "" && (await serveFile(req, res))) return;

    // Bodies: refused on a declared length at once, else counted as they arrive (chunked).
    const limit = bodyLimitFor(url.pathname);
    const abort = new AbortController();
    let answered = false;
    const tooLarge = () => {
      if (answered) return;
      answered = true;
      abort.abort(); // React Router stops, and handleError stays quiet about an aborted request.
      refuse(res, 413, "Payload Too Large");
      res.once("finish", () => drainBody(req));
    };
    if (Number(req.headers["content-length"] ?? 0) > limit) return tooLarge();
    // A client gone mid-request aborts the app's work (and handleError stays quiet) before its body read fails.
    res.once("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    req.once("close", () => {
      if (!req.complete) abort.abort();
    });
    const body = method === "GET" || method === "HEAD" ? undefined : limitedBody(req, limit, tooLarge);

    let request: Request;
    try {
      const headers = createHeaders(req);
      for (const name of FORWARDING_HEADERS) headers.delete(name);
      request = new Request(url, {
        method,
        headers,
        body: body?.stream,
        signal: abort.signal,
        ...(body ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch {
      return refuse(res, 400, "Bad Request", { close: true });
    }

    const context = new RouterContextProvider();
    context.set(runtime.requestInfoContext, info);
    const response = await handle(request, context);
    if (answered) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    answered = true;
    body?.release();
    if (draining) res.setHeader("Connection", "close");
    res.once("finish", () => drainBody(req));
    await sendResponse(res, response);
  }

  function serveFile(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      res.once("finish", () => resolve(true));
      staticFiles(req, res, () => resolve(false));
    });
  }

  /** Refusals made here, before or instead of the app: a short JSON body, like the app's own JSON doors. */
  function refuse(res: ServerResponse, status: number, error: string, options: { close?: boolean } = {}) {
    if (options.close || draining) res.setHeader("Connection", "close");
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(JSON.stringify({ error }));
  }

  /** Node could not parse the request at all (bad request line, header overflow, unknown method). */
  function onClientError(error: NodeJS.ErrnoException, socket: Socket) {
    runtime.logger().info({ event: "http.client_error", code: error.code ?? "unknown" });
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === "HPE_INVALID_METHOD"
        ? unknownMethodStatus(error as { rawPacket?: Buffer; bytesParsed?: number })
        : error.code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? "408 Request Timeout"
            : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  /**
   * Node's parser knows only the standard methods: a well-formed request line with another method
   * (`FOO /path HTTP/1.1`) is a 405 with the route's `Allow`; anything else there is garbage, a 400.
   */
  function unknownMethodStatus({ rawPacket, bytesParsed = 0 }: { rawPacket?: Buffer; bytesParsed?: number }): string {
    // The packet may hold an earlier, pipelined request: read from the line where parsing failed.
    const lineStart = rawPacket ? rawPacket.lastIndexOf("\n", Math.max(0, bytesParsed - 1)) + 1 : 0;
    const line = REQUEST_LINE.exec(rawPacket?.subarray(lineStart, lineStart + 2048).toString("latin1") ?? "");
    if (!line) return "400 Bad Request";
    const target = URL.parse(line[1]!, "http://request.invalid")?.pathname ?? "/";
    const allow = (methods.allowed(target)?.methods ?? ["GET", "HEAD"]).join(", ");
    return `405 Method Not Allowed\r\nAllow: ${allow}`;
  }

  return {
    server,
    /** From now on every answer closes its connection, and /readyz answers 503. */
    startDraining() {
      draining = true;
      runtime.startDraining();
    },
    closeQuietConnections: connections.closeQuiet,
  };
}

/**
 * How long a kept-alive connection must have carried nothing, during a drain, before the server closes it.
 * Closing an idle connection races with a request the client may be sending on it at that moment (the
 * request is lost). Answers given while draining say `Connection: close`, so every connection in use is
 * let go by its client; one that stays idle this long after the drain began belongs to a client that has
 * stopped sending here (a load balancer takes the instance out of rotation when /readyz answers 503).
 */
export const DRAIN_IDLE_MS = 1_000;

/**
 * How long a connection the server ends keeps reading what the client is still sending (and discarding
 * it) before it is closed for good. Node ends such a connection (after `Connection: close`, a 413, a
 * drain) with FIN and closes the socket as soon as its last byte is written: bytes that arrive after that
 * meet a TCP reset, and a client still sending its body gets EPIPE or ECONNRESET instead of the answer
 * waiting in its buffer.
 */
export const LINGER_MS = 2_000;

/**
 * A lingering close, as Apache and nginx make one: while the client is still sending the body of the
 * request just answered (a 413 to a chunked upload), the connection stays open and the rest is read and
 * discarded (drainBody, within its budget); then FIN, and the socket is closed when the client closes its
 * side or LINGER_MS later.
 */
function lingeringClose(socket: Socket, request: IncomingMessage | undefined): void {
  if (socket.destroyed) return;
  if (request && !request.complete && !request.destroyed) {
    let once = false;
    const then = () => {
      if (once) return;
      once = true;
      lingeringClose(socket, undefined);
    };
    request.once("end", then);
    request.once("close", then);
    return;
  }
  if (socket.writable) socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  // The client has sent all it will: both directions are done.
  socket.once("end", () => socket.destroy());
  socket.resume();
}

type ConnectionState = { inFlight: number; quietSince: number; bytesReadThen: number; request?: IncomingMessage };

/**
 * Every open connection and whether a request is on it, so that a drain closes a connection only once
 * nothing can be racing onto it: no request in flight, no byte read since its last answer, and quiet for
 * `DRAIN_IDLE_MS` since both its last answer and the start of the drain.
 */
function trackConnections(server: Server) {
  const open = new Map<Socket, ConnectionState>();
  server.on("connection", (socket: Socket) => {
    const state: ConnectionState = { inFlight: 0, quietSince: performance.now(), bytesReadThen: 0 };
    // Node calls destroySoon to end a connection it will not keep.
    socket.destroySoon = () => lingeringClose(socket, state.request);
    open.set(socket, state);
    socket.once("close", () => open.delete(socket));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const state = open.get(req.socket);
    if (!state) return;
    state.inFlight++;
    state.request = req;
    res.once("close", () => {
      state.inFlight--;
      state.quietSince = performance.now();
      state.bytesReadThen = req.socket.bytesRead;
    });
  });
  return {
    /** Closes (lingering) each connection quiet since `since` and for DRAIN_IDLE_MS; how many are still open. */
    closeQuiet(since: number): number {
      const now = performance.now();
      for (const [socket, state] of open) {
        const quiet = state.inFlight === 0 && socket.bytesRead === state.bytesReadThen;
        if (quiet && now - Math.max(since, state.quietSince) >= DRAIN_IDLE_MS) {
          open.delete(socket);
          socket.destroySoon();
        }
      }
      return open.size;
    },
  };
}

/** `METHOD /origin-form-target HTTP/1.x`, the method a token as RFC 9110 defines one. */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ (\/[\x21-\x7e]*) HTTP\/1\.[01]\r?\n/;

const VALID_HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export type AppServer = { server: Server; startDraining(): void; closeQuietConnections(since: number): number };
