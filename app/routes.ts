import { type RouteConfig, index, route } from "@react-router/dev/routes";

export default [
  index("routes/index.tsx"),
  route("login", "routes/_auth/login.tsx"),
  route("signup", "routes/_auth/signup.tsx"),
  route("logout", "routes/_auth/logout.tsx"),
  route("forgot-password", "routes/_auth/forgot-password.tsx"),
  route("reset-password", "routes/_auth/reset-password.tsx"),
  route("account", "routes/account.tsx"),
  route("settings", "routes/settings/settings.tsx"),
  route("settings/confirm-email", "routes/settings/confirm-email.tsx"),
  // One billing service, two doors: the account page's form, and the seed's JSON API.
  route("billing/portal", "routes/billing.portal.ts"),
  route("api/payments/portal", "routes/api.payments.portal.ts"),
  // The payment-failed mail's one-click link: a page whose one form posts intent=payment_method to the portal.
  route("billing/payment-method", "routes/billing.payment-method.tsx"),
  route("pricing", "routes/pricing.tsx"),
  // The checkout: the pricing page's forms, and its JSON API.
  route("billing/checkout", "routes/billing.checkout.ts"),
  route("api/payments/checkout", "routes/api.payments.checkout.ts"),
  // Entitlements (SPEC "Entitlements"): what the owner's plan gives, and the demo's gated pages.
  route("api/entitlements", "routes/api.entitlements.ts"),
  route("projects", "routes/projects.tsx"),
  route("projects/:id/delete", "routes/projects.$id.delete.ts"),
  route("api/projects", "routes/api.projects.ts"),
  route("reports", "routes/reports.tsx"),
  // Organisations (SPEC "Organisations and seats"): the billing owner, its members and invitations.
  route("orgs", "routes/orgs/orgs.tsx"),
  route("orgs/switch", "routes/orgs/orgs.switch.ts"),
  route("orgs/:orgId", "routes/orgs/orgs.$orgId.tsx"),
  route("orgs/:orgId/invitations", "routes/orgs/orgs.$orgId.invitations.ts"),
  route("orgs/:orgId/members/:userId", "routes/orgs/orgs.$orgId.members.$userId.ts"),
  route("orgs/:orgId/leave", "routes/orgs/orgs.$orgId.leave.ts"),
  route("invitations/:token", "routes/orgs/invitations.$token.tsx"),
  route("api/orgs", "routes/orgs/api.orgs.ts"),
  // Signed provider events (no session, no cross-site check: providers post without Origin).
  route("webhooks/:provider", "routes/webhooks.$provider.ts"),
  // Load balancer probes (SPEC "Server, proxies and operations").
  route("healthz", "routes/healthz.ts"),
  route("readyz", "routes/readyz.ts"),
] satisfies RouteConfig;
