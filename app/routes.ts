import { type RouteConfig, index, route } from "@react-router/dev/routes";

export default [
  index("routes/index.tsx"),
  route("login", "routes/_auth/login.tsx"),
  route("signup", "routes/_auth/signup.tsx"),
  route("logout", "routes/_auth/logout.tsx"),
  route("account", "routes/account.tsx"),
  // One billing service, two doors: the account page's form, and the seed's JSON API.
  route("billing/portal", "routes/billing.portal.ts"),
  route("api/payments/portal", "routes/api.payments.portal.ts"),
  // Load balancer probes (SPEC "Server, proxies and operations").
  route("healthz", "routes/healthz.ts"),
  route("readyz", "routes/readyz.ts"),
] satisfies RouteConfig;
