import { LRUCache } from "lru-cache";
import { matchRoutes } from "react-router";

/** The parts of a server build's route manifest this module reads. */
export type ManifestRoute = {
  id: string;
  parentId?: string;
  path?: string;
  index?: boolean;
  caseSensitive?: boolean;
  module: { action?: unknown; loader?: unknown; default?: unknown };
};

type RouteNode = { id: string; path?: string; index?: boolean; caseSensitive?: boolean; children?: RouteNode[] };

/** Methods the app answers at all; anything else is refused before React Router sees it. */
export const APP_METHODS = new Set(["GET", "HEAD", "POST"]);

/**
 * Which methods each URL of the build accepts, derived from its route
 * modules: a route with an action and neither loader nor component is
 * POST-only; a page or loader accepts GET and HEAD, and POST when some
 * matched route has an action. Unknown paths are left to React Router (404).
 */
export function createMethodTable(routes: Record<string, ManifestRoute | undefined>) {
  const byId = new Map<string, ManifestRoute>();
  for (const route of Object.values(routes)) if (route) byId.set(route.id, route);

  const tree = childrenOf(undefined);
  function childrenOf(parentId: string | undefined): RouteNode[] {
    return [...byId.values()]
      .filter((route) => route.parentId === parentId)
      .map((route) => {
        const children = childrenOf(route.id);
        return {
          id: route.id,
          path: route.path,
          index: route.index,
          caseSensitive: route.caseSensitive,
          ...(children.length > 0 ? { children } : {}),
        } as RouteNode;
      });
  }

  type Allowed = { methods: string[]; routeId: string } | null;
  // Matching compiles every route's pattern again (React Router keeps no cache), a cost on every
  // request in issue 9's profile; the answer depends on the path alone, so the last paths asked
  // are remembered. Bounded: a client inventing paths only churns the cache.
  const known = new LRUCache<string, { allowed: Allowed }>({ max: 1_000 });

  function match(pathname: string): Allowed {
    const matches = matchRoutes(tree as never, documentPath(pathname)) as { route: RouteNode }[] | null;
    if (!matches || matches.length === 0) return null;
    const modules = matches.map((found) => byId.get(found.route.id)!.module);
    const leaf = modules.at(-1)!;
    const routeId = matches.at(-1)!.route.id;
    if (leaf.action && !leaf.loader && !leaf.default) return { methods: ["POST"], routeId };
    const methods = modules.some((module) => module.action) ? ["GET", "HEAD", "POST"] : ["GET", "HEAD"];
    return { methods, routeId };
  }

  return {
    /** The `Allow` list for a path, or null when no route matches it. */
    allowed(pathname: string): Allowed {
      let entry = known.get(pathname);
      if (!entry) {
        entry = { allowed: match(pathname) };
        known.set(pathname, entry);
      }
      return entry.allowed;
    },
  };
}

/** React Router's data requests (`/account.data`, `/_.data` for `/`) ask for the page at the path without the suffix. */
function documentPath(pathname: string): string {
  if (pathname.endsWith("/_.data")) return pathname.slice(0, -"_.data".length);
  if (pathname.endsWith(".data")) return pathname.slice(0, -".data".length);
  return pathname;
}
