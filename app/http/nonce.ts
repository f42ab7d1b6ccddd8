import { createContext, useContext } from "react";

/** The CSP nonce for this page's inline scripts: set by entry.server; empty in the browser, which hides nonces anyway. */
export const NonceContext = createContext("");

export function useNonce(): string {
  return useContext(NonceContext);
}
