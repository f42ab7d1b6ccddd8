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
};

export const requestInfoContext = createContext<RequestInfo>({ requestId: "", clientAddress: "unknown" });
