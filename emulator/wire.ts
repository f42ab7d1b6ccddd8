import type { IncomingHttpHeaders } from "node:http";
import type { PortalPages } from "./portal-pages.ts";
import type { SubscriptionStore } from "./subscriptions.ts";

/** One request as the emulator's provider handlers see it: already read and parsed. */
export type EmulatorRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The bearer token, if any: checked by handlers, never logged or echoed. */
  bearerToken: string | null;
  rawBody: string;
};

/** What a handler answers; `body` objects are sent as JSON. */
export type EmulatorResponse = {
  status: number;
  headers?: Record<string, string>;
  body: string | object;
};

export function jsonResponse(
  status: number,
  body: object,
  headers: Record<string, string> = {},
): EmulatorResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body };
}

export function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "http:" || protocol === "https:";
}

/** One emulated provider API: which requests are its own, how it answers them. */
export type ProviderApi = {
  claims(request: EmulatorRequest): boolean;
  handle(request: EmulatorRequest, portals: PortalPages, context: ApiContext): EmulatorResponse;
  /** The provider's own error answer for a status, used when a failure is injected. */
  errorResponse(status: number): EmulatorResponse;
};

/** The emulator state a provider API call may read (Stripe's deep links check the subscription they name). */
export type ApiContext = { subscriptions: SubscriptionStore };
