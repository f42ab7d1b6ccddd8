import { Agent, request as httpRequest } from "node:http";

export type HostileRequest = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
};

export type HostileResponse = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** Per request: an answer slower than this is a hang. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A keep-alive client that sends exactly the headers it is given (no
 * defaults, no redirects followed) and fails on a reset or a hang rather
 * than retrying.
 */
export function createClient(origin: string, maxSockets = 4) {
  const { hostname, port } = new URL(origin);
  const agent = new Agent({ keepAlive: true, maxSockets });

  function send(request: HostileRequest): Promise<HostileResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...request.headers };
      if (request.body !== undefined) headers["Content-Length"] = String(request.body.byteLength);
      const outgoing = httpRequest(
        { agent, hostname, port, method: request.method, path: request.path, headers, timeout: REQUEST_TIMEOUT_MS },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("error", reject);
          incoming.on("end", () =>
            resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString("utf8") }),
          );
        },
      );
      outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`)));
      outgoing.on("error", reject);
      outgoing.end(request.body);
    });
  }

  return { send, close: () => agent.destroy() };
}

export type Client = ReturnType<typeof createClient>;

/** Signs in over HTTP as a browser on this origin would; answers the session cookie (`name=value`). */
export async function signIn(client: Client, origin: string, email: string, password: string, extraHeaders: Record<string, string> = {}) {
  const response = await client.send({
    method: "POST",
    path: "/login",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin, ...extraHeaders },
    body: Buffer.from(new URLSearchParams({ email, password }).toString()),
  });
  const cookie = sessionCookie(response);
  if (response.status !== 302 && response.status !== 303) throw new Error(`sign-in answered ${response.status}`);
  if (!cookie) throw new Error("sign-in set no session cookie");
  return cookie;
}

/** The `name=value` of the first cookie set with a non-empty value. */
export function sessionCookie(response: HostileResponse): string | null {
  const setCookie = response.headers["set-cookie"] ?? [];
  for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const pair = line.split(";")[0] ?? "";
    const value = pair.slice(pair.indexOf("=") + 1);
    if (pair.includes("=") && value !== "") return pair;
  }
  return null;
}

/** Where a redirect leads, resolved as a browser would; null when there is none. */
export function redirectTarget(response: HostileResponse, origin: string): URL | null {
  const location = response.headers.location;
  if (typeof location !== "string") return null;
  // Browsers treat `\` as `/` in http(s) URLs, as the URL parser does here.
  return new URL(location, origin);
}
