import { PassThrough } from "node:stream";
import { createReadableStreamFromReadable } from "@react-router/node";
import { isbot } from "isbot";
import type { RenderToPipeableStreamOptions } from "react-dom/server";
import { renderToPipeableStream } from "react-dom/server";
import type { EntryContext, HandleErrorFunction, RouterContextProvider } from "react-router";
import { ServerRouter, isRouteErrorResponse } from "react-router";
import { NonceContext } from "~/http/nonce.ts";
import { requestInfoContext } from "~/http/request-info.ts";
import { SECURITY_HEADERS, contentSecurityPolicy } from "~/http/security-headers.ts";
import { logEvent } from "~/observability/log.server.ts";

// The server entry (server/main.ts) takes the app's services, logger and context key from here.
export { serverRuntime } from "~/http/server-runtime.server.ts";

// React Router's default Node entry, with three changes: safe headers on every
// page (a CSP with this response's nonce when the server entry gave one),
// and errors logged as one line without message or stack (SPEC: no stack or
// provider text in any log line; a 404 is not an error).
export const streamTimeout = 5_000;

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  routerContext: EntryContext,
  loadContext: RouterContextProvider,
) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) responseHeaders.set(name, value);
  // Under the Vite dev server there is no nonce (and Vite's own inline scripts would not carry one).
  const nonce = loadContext.get(requestInfoContext).nonce;
  if (nonce) responseHeaders.set("Content-Security-Policy", contentSecurityPolicy(nonce));
  if (request.method.toUpperCase() === "HEAD") {
    return new Response(null, { status: responseStatusCode, headers: responseHeaders });
  }

  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const userAgent = request.headers.get("user-agent");
    const readyOption: keyof RenderToPipeableStreamOptions =
      (userAgent && isbot(userAgent)) || routerContext.isSpaMode ? "onAllReady" : "onShellReady";
    let timeoutId: ReturnType<typeof setTimeout> | undefined = setTimeout(() => abort(), streamTimeout + 1000);

    const { pipe, abort } = renderToPipeableStream(
      <NonceContext value={nonce ?? ""}>
        <ServerRouter context={routerContext} url={request.url} nonce={nonce} />
      </NonceContext>,
      {
        nonce,
        [readyOption]() {
          shellRendered = true;
          const body = new PassThrough({
            final(callback) {
              clearTimeout(timeoutId);
              timeoutId = undefined;
              callback();
            },
          });
          responseHeaders.set("Content-Type", "text/html");
          pipe(body);
          resolve(
            new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }),
          );
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          if (shellRendered) logUnexpected(error, request);
        },
      },
    );
  });
}

export const handleError: HandleErrorFunction = (error, { request }) => {
  if (request.signal.aborted) return;
  // React Router's own answers (404 no route, 405 no action, 400 bad request) are the client's doing, not errors.
  if (isRouteErrorResponse(error) && error.status < 500) {
    logEvent("info", "request.refused", { method: request.method, path: pathOf(request), status: error.status });
    return;
  }
  logUnexpected(error, request);
};

function logUnexpected(error: unknown, request: Request) {
  logEvent("error", "request.unexpected_error", {
    method: request.method,
    path: pathOf(request),
    errorName: error instanceof Error ? error.name : typeof error,
  });
}

function pathOf(request: Request): string {
  return new URL(request.url).pathname;
}
