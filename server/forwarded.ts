import { isIP } from "node:net";

/**
 * What the request looked like before the trusted proxies: protocol, host and
 * client address (SPEC "Server, proxies and operations").
 *
 * With `trustedHops` = N > 0, each trusted proxy is assumed to append one entry
 * to `X-Forwarded-For` (or `Forwarded`): the client is the Nth entry from the
 * right, the first one no client could have written itself. Entries further
 * left came from the client and are ignored. With 0, forwarded headers are
 * ignored. `X-Forwarded-*` is read first; `Forwarded` only when a family of
 * `X-Forwarded-*` is absent, since most proxies set the former and leave a
 * client's `Forwarded` untouched.
 */
export type ForwardedView = {
  protocol: "http:" | "https:";
  /** host[:port] as the client addressed it. */
  host: string | undefined;
  clientAddress: string;
};

type Headers = Record<string, string | string[] | undefined>;

export function forwardedView(
  headers: Headers,
  socket: { remoteAddress?: string; encrypted?: boolean },
  trustedHops: number,
): ForwardedView {
  const direct: ForwardedView = {
    protocol: socket.encrypted ? "https:" : "http:",
    host: single(headers.host),
    clientAddress: unmapped(socket.remoteAddress) ?? "unknown",
  };
  if (trustedHops <= 0) return direct;

  const forwarded = parseForwarded(joined(headers.forwarded));
  const pick = <T>(values: T[]): T | undefined => values[Math.max(0, values.length - trustedHops)];

  const xProto = list(headers["x-forwarded-proto"]);
  const proto = (xProto.length > 0 ? pick(xProto) : pick(forwarded.flatMap((e) => (e.proto ? [e.proto] : []))))?.toLowerCase();

  const xHost = list(headers["x-forwarded-host"]);
  const host = xHost.length > 0 ? pick(xHost) : pick(forwarded.flatMap((e) => (e.host ? [e.host] : [])));

  const xFor = list(headers["x-forwarded-for"]);
  const forValues = xFor.length > 0 ? xFor : forwarded.flatMap((e) => (e.for ? [e.for] : []));
  const address = normaliseAddress(pick(forValues));

  return {
    protocol: proto === "https" ? "https:" : proto === "http" ? "http:" : direct.protocol,
    host: host || direct.host,
    clientAddress: address ?? direct.clientAddress,
  };
}

/** Headers the app never sees: the server has already turned them into the URL and the client address. */
export const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip"];

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(",") : (value ?? "");
}

function list(value: string | string[] | undefined): string[] {
  return joined(value)
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

type ForwardedElement = { for?: string; proto?: string; host?: string };

/** RFC 7239: `for=192.0.2.60;proto=https;host=example.com, for="[2001:db8::1]:4711"`. */
function parseForwarded(value: string): ForwardedElement[] {
  if (!value) return [];
  return value.split(",").map((element) => {
    const entry: ForwardedElement = {};
    for (const pair of element.split(";")) {
      const index = pair.indexOf("=");
      if (index === -1) continue;
      const name = pair.slice(0, index).trim().toLowerCase();
      const raw = pair.slice(index + 1).trim();
      const unquoted = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
      if (name === "for" || name === "proto" || name === "host") entry[name] = unquoted;
    }
    return entry;
  });
}

/** An IP address without port or brackets, or undefined for `unknown`, obfuscated identifiers and garbage. */
function normaliseAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let address = value.trim();
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    if (end === -1) return undefined;
    address = address.slice(1, end);
  } else if (address.indexOf(":") !== -1 && address.indexOf(":") === address.lastIndexOf(":")) {
    address = address.slice(0, address.indexOf(":")); // IPv4 with a port
  }
  return isIP(address) === 0 ? undefined : unmapped(address);
}

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) is 127.0.0.1: one client, one key. */
function unmapped(address: string | undefined): string | undefined {
  return address?.toLowerCase().startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
