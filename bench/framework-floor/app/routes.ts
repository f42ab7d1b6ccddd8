import { type RouteConfig, route } from "@react-router/dev/routes";

export default [
  // The framework floor: an action that answers a redirect, as the app's form door does.
  route("redirect", "routes/redirect.ts"),
  // The peer: Polar's own adapter, `@polar-sh/remix`'s CustomerPortal, mounted as its README shows.
  route("peer/portal", "routes/peer-portal.ts"),
] satisfies RouteConfig;
