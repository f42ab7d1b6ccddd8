import type { SessionUser } from "~/auth/session.server.ts";

/** A role in an organisation (Prisma's `MembershipRole`, as plain words so pages can import it). */
export type Role = "owner" | "admin" | "member";

/** The roles that manage billing (SPEC "Organisations and seats": checkout, portal, the billing buttons). */
export const BILLING_ROLES: readonly Role[] = ["owner", "admin"];

/**
 * Who acts and for whom: the signed-in user, and the organisation that owns the billing they act on (the
 * session's current organisation) with the user's role in it.
 */
export type BillingOwner = {
  userId: string;
  organizationId: string;
  organizationName: string;
  personal: boolean;
  role: Role;
  /** Owners and admins manage billing; members see it only. */
  canManageBilling: boolean;
};

/** The user and the organisation a billing call is made for. */
export type BillingActor = { userId: string; organizationId: string };

/**
 * The current billing owner of a signed-in user, as the one session statement read it: the accessor every
 * route and billing door uses (services' `currentBillingOwner(request)` reads the request's session first).
 * Null when nobody is signed in, or the user belongs to no organisation.
 */
export function billingOwnerOf(
  user: SessionUser | null | undefined,
): BillingOwner | null {
  if (!user?.organization) return null;
  const { id, name, personal, role } = user.organization;
  return {
    userId: user.id,
    organizationId: id,
    organizationName: name,
    personal,
    role,
    canManageBilling: BILLING_ROLES.includes(role),
  };
}

/**
 * The id of a user's personal organisation. The database makes it with the user's row (a trigger, see the
 * organisations migration and ADR 028), so it exists for every user however the row was inserted.
 */
export function personalOrganizationId(userId: string): string {
  return `personal_${userId}`;
}
