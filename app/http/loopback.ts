const LOOPBACK_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A browser page opened on another loopback name than APP_URL's (127.0.0.1
 * or [::1] for localhost): where the same path lives on APP_URL, else null.
 * Only page navigations move; API clients and probes are answered where they ask.
 */
export function otherLoopbackAddress(request: Request, appOrigin: string): string | null {
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") return null;
  if (!(request.headers.get("Accept") ?? "").includes("text/html")) return null;
  const url = new URL(request.url);
  const app = new URL(appOrigin);
  if (url.origin === app.origin) return null;
  if (!LOOPBACK_HOSTNAMES.has(url.hostname) || !LOOPBACK_HOSTNAMES.has(app.hostname)) return null;
  return new URL(url.pathname + url.search, app).href;
}
