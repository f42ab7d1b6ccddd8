import { createContext } from "react-router";

/**
 * What the server entry knows about a request that the Fetch `Request` does
 * not carry: its id (X-Request-Id) and the client's address as far as the
 * trusted proxies say (TRUST_PROXY). Routes read it with
 * `context.get(requestInfoContext)`; rate limits key on `clientAddress`.
 */
export type RequestInfo = {
  requestId: string;
  /** The client's IP address; "unknown" where no server entry provided one (e.g. a unit test). */
  clientAddress: string;
  /** This response's Content-Security-Policy nonce; absent under the Vite dev server, which sends no CSP. */
  nonce?: string;
  /** The signed-in user, once the app knows it: the access log reports it (recordSignedInUser). */
  userId?: string;
};

export const requestInfoContext = createContext<RequestInfo>({ requestId: "", clientAddress: "unknown" });

/** What carries a request's info: React Router's context (routes' `context`). */
export type RequestInfoHolder = { get: (key: typeof requestInfoContext) => RequestInfo };

/** Tells the access log who made this request. A no-op without a server entry (the default value is shared). */
export function recordSignedInUser(context: RequestInfoHolder, userId: string) {
  const info = context.get(requestInfoContext);
  if (info.requestId !== "") info.userId = userId;
}
