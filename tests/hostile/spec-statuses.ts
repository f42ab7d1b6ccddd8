/**
 * The statuses SPEC.md allows each POST door to answer, whatever the body.
 * "Auth": success is a redirect, wrong or unreadable credentials 400, the
 * form again 200. "Billing portal": its table, 403 for cross-site posts, 413
 * over 64 KiB. "Plans and checkout": its table, and the portal's rules.
 * "Subscriptions and webhooks": 200 or 400, 413 over 1 MiB (its 503 is for a
 * database that is down, which no hostile run has). "Rate limits": 429 on
 * every door that counts. "Server": 413 for a body over a route's limit on any
 * route. A 500 is never allowed.
 */
export const ALLOWED_STATUSES = {
  /** `/billing/portal` answering a browser form: always back somewhere with a 303. */
  portalForm: [303, 403, 413, 429],
  /** The portal's JSON answers, on either door. */
  portalJson: [200, 400, 401, 403, 404, 413, 429, 502, 503, 504],
  login: [200, 302, 303, 400, 403, 413, 429],
  signup: [200, 302, 303, 400, 403, 413, 429],
  logout: [302, 303, 403, 405, 413],
  /** `/billing/checkout` answering a browser form: to the provider's checkout, or back with a message. */
  checkoutForm: [303, 403, 413, 429],
  /** The checkout's JSON answers, on either door. */
  checkoutJson: [200, 400, 401, 403, 409, 413, 429, 502, 503, 504],
  webhook: [200, 400, 413],
  /** "Email": the same 200 whether or not an account exists, 400 for a malformed email, 429 past a limit. */
  forgotPassword: [200, 400, 403, 413, 429],
  /** A bad, used or expired token or a refused password: the page again with 400; a reset: a redirect. */
  resetPassword: [200, 302, 303, 400, 403, 413, 429, 503],
  /**
   * "Organisations and seats", its doors: back to the page with a message (303), JSON 200 or 400, not a member 404,
   * a member without the role 403, the last owner 409, a used or expired invitation 410; signed out, to the login (302).
   */
  orgDoor: [200, 302, 303, 400, 403, 404, 409, 410, 413],
  /**
   * "Entitlements": `POST /projects` as a form: created (303), signed out (303 to login), a bad name (400), the
   * limit or a cross-site post (403); as JSON (a JSON body or Accept): 201, 400, 401, 403.
   */
  projectsForm: [303, 400, 403, 413],
  projectsJson: [201, 400, 401, 403, 413],
  /** `POST /projects/<id>/delete`: deleted or signed out (303; 401 for a JSON client), not the owner's (404), cross-site (403). */
  projectDelete: [303, 401, 403, 404, 413],
} as const satisfies Record<string, readonly number[]>;

export type Door = keyof typeof ALLOWED_STATUSES;
