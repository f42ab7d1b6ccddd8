import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A caller's (or proxy's) X-Request-Id when it is safe to echo and log, else a new one. */
export function requestIdFor(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && VALID_REQUEST_ID.test(value) ? value : randomUUID();
}

export type Refusal = { status: 400; reason: string };

/**
 * Requests no route could answer sensibly, refused with 400 before any work
 * (SPEC: malformed requests get a 4xx, never a 500). Reasons are fixed
 * phrases: the offending target is never echoed or logged.
 */
export function malformedRequest(req: IncomingMessage): Refusal | null {
  const target = req.url ?? "";
  // Absolute-form (`GET http://evil.test/`) is for proxies, and `*` for server-wide OPTIONS.
  if (!target.startsWith("/")) return { status: 400, reason: "request target not in origin-form" };
  const hosts = hostHeaderCount(req.rawHeaders);
  if (hosts === 0) return { status: 400, reason: "missing Host header" };
  if (hosts > 1) return { status: 400, reason: "more than one Host header" };
  const pathEnd = target.search(/[?#]/);
  const path = pathEnd === -1 ? target : target.slice(0, pathEnd);
  try {
    decodeURIComponent(path);
  } catch {
    return { status: 400, reason: "bad percent-encoding in path" };
  }
  return null;
}

function hostHeaderCount(rawHeaders: string[]): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index]!.toLowerCase() === "host") count += 1;
  }
  return count;
}

/** The path of a request for the access log: never the query string (it may hold tokens), never an absolute-form target. */
export function loggablePath(target: string | undefined): string {
  if (!target?.startsWith("/")) return "-";
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
