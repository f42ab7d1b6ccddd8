import type { Role } from "./billing-owner.ts";

/**
 * Who may do what in an organisation: the one place these rules live (SPEC "Organisations and seats",
 * ADR 028). Every organisation door (organisations.server.ts) and every billing door (billing-endpoint)
 * asks `authorize` with the caller's membership, read in the same transaction as the change.
 *
 * - Not a member: "not-found" (404), so nothing reveals that the organisation exists.
 * - A member without the role: "forbidden" (403).
 * - Only owners make owners (and only owners change or remove an owner).
 * - The last owner can neither leave nor be demoted (removing oneself is leaving).
 */
export type OrgAction =
  | { kind: "view" }
  | { kind: "manage-billing" }
  | { kind: "invite"; personal: boolean }
  | { kind: "change-role"; target: { role: Role }; to: Role; owners: number }
  | { kind: "remove"; target: { role: Role } }
  | { kind: "leave"; personal: boolean; owners: number };

/** Why an action is refused; `last-owner`, `personal` and `personal-invite` are 409s with their own sentence. */
export type Refusal = "not-found" | "forbidden" | "last-owner" | "personal" | "personal-invite";

export type Decision = { ok: true } | { ok: false; refusal: Refusal };

const MANAGERS: readonly Role[] = ["owner", "admin"];

export function authorize(membership: { role: Role } | null, action: OrgAction): Decision {
  if (!membership) return refuse("not-found");
  const { role } = membership;
  switch (action.kind) {
    case "view":
      return allow();
    case "manage-billing":
      return MANAGERS.includes(role) ? allow() : refuse("forbidden");
    case "invite":
      if (!MANAGERS.includes(role)) return refuse("forbidden");
      // A personal organisation is its user's alone: a team is a new organisation (POST /orgs).
      return action.personal ? refuse("personal-invite") : allow();
    case "change-role": {
      if (!MANAGERS.includes(role)) return refuse("forbidden");
      // Only owners make owners, and only owners change an owner's role.
      if ((action.to === "owner" || action.target.role === "owner") && role !== "owner") return refuse("forbidden");
      if (action.target.role === "owner" && action.to !== "owner" && action.owners <= 1) return refuse("last-owner");
      return allow();
    }
    case "remove": {
      if (!MANAGERS.includes(role)) return refuse("forbidden");
      // Only owners remove owners; an owner removing another owner leaves at least one (removing oneself is "leave").
      if (action.target.role === "owner" && role !== "owner") return refuse("forbidden");
      return allow();
    }
    case "leave": {
      if (action.personal) return refuse("personal");
      if (role === "owner" && action.owners <= 1) return refuse("last-owner");
      return allow();
    }
  }
}

/** The HTTP status of a refusal. */
export const REFUSAL_STATUS: Record<Refusal, 403 | 404 | 409> = {
  "not-found": 404,
  forbidden: 403,
  "last-owner": 409,
  personal: 409,
  "personal-invite": 409,
};

/** What a person reads for each refusal. */
export const REFUSAL_MESSAGE: Record<Refusal, string> = {
  "not-found": "Not found.",
  forbidden: "Your role in this organisation does not allow that.",
  "last-owner": "An organisation needs an owner: make someone else an owner first.",
  personal: "Your personal organisation cannot be left.",
  "personal-invite": "Your personal organisation is yours alone: create an organisation to invite people.",
};

/** The billing doors' sentence for a member who is not an owner or admin (SPEC). */
export const BILLING_FORBIDDEN_MESSAGE = "Only an owner or admin can manage billing.";

function allow(): Decision {
  return { ok: true };
}

function refuse(refusal: Refusal): Decision {
  return { ok: false, refusal };
}
