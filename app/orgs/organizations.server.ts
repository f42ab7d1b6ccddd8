import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { EmailSchema } from "~/auth/credentials.ts";
import type { PrismaClient } from "~/db/generated/client.ts";
import { enqueueMail } from "~/mail/mail.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import {
  authorize,
  type OrgAction,
  REFUSAL_MESSAGE,
  REFUSAL_STATUS,
} from "./authorization.ts";
import type { Role } from "./billing-owner.ts";
import { INVITATION_MESSAGES, ORGANIZATION_NAME_MAX } from "./organization-words.ts";

/** Prisma's interactive transaction client. */
export type Transaction = Parameters<
  Parameters<PrismaClient["$transaction"]>[0]
>[0];

/**
 * Called inside the transaction of every membership change (accept, remove, leave): the seats follow the
 * member count there (the `seats` work). The default does nothing.
 */
export type OnMembershipChanged = (
  tx: Transaction,
  organizationId: string,
) => Promise<void>;

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A refusal or bad input, as the doors answer it: a status and one sentence; nothing was changed. */
export type OrgFailure = {
  ok: false;
  status: 400 | 403 | 404 | 409 | 410;
  message: string;
};
export type OrgResult<T = undefined> = { ok: true; value: T } | OrgFailure;

/** An organisation's name: plain words, no markup or control characters, at most 80 characters. */
export const OrganizationName = z
  .string({ error: "Enter a name for the organisation." })
  .trim()
  .min(1, { error: "Enter a name for the organisation." })
  .max(ORGANIZATION_NAME_MAX, {
    error: `Use at most ${ORGANIZATION_NAME_MAX} characters for the name.`,
  })
  .refine((name) => !/[<>\p{Cc}\p{Cf}]/u.test(name), {
    error: "Use letters, digits, spaces and punctuation only (no < or >).",
  });

const InvitableRole = z.enum(["admin", "member"], {
  error: "Choose a role: admin or member.",
});
const AnyRole = z.enum(["owner", "admin", "member"], {
  error: "Choose a role: owner, admin or member.",
});
/** Ids are Prisma cuids or `personal_<cuid>`: anything else names nothing (and is never sent to the database). */
const IdField = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
/** 32 random bytes, base64url. */
const TokenField = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export type OrganizationSummary = {
  id: string;
  name: string;
  personal: boolean;
  role: Role;
  members: number;
};
export type MemberView = {
  userId: string;
  email: string;
  role: Role;
  joinedAt: Date;
};
export type InvitationView = {
  id: string;
  email: string;
  role: Role;
  expiresAt: Date;
};
export type OrganizationPage = {
  organization: { id: string; name: string; personal: boolean };
  role: Role;
  members: MemberView[];
  invitations: InvitationView[];
};

/** What `/invitations/<token>` shows. */
export type InvitationLookup =
  | { status: "usable"; organization: string; role: Role; email: string }
  | { status: "other-account"; organization: string }
  | { status: "used" | "expired" | "unknown" };


export function hashInvitationToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The caller's membership, with the organisation row locked until the transaction ends (role changes race otherwise). */
async function lockedMembership(
  tx: Transaction,
  organizationId: string,
  userId: string,
) {
  await tx.$queryRaw`SELECT "id" FROM "Organization" WHERE "id" = ${organizationId} FOR UPDATE`;
  return tx.membership.findUnique({
    where: { organizationId_userId: { organizationId, userId } },
    select: {
      role: true,
      organization: { select: { personal: true, name: true } },
    },
  });
}

const ownerCount = (tx: Transaction, organizationId: string) =>
  tx.membership.count({ where: { organizationId, role: "owner" } });

/** The one authorization check (authorization.ts), turned into the doors' answer. */
function check(
  membership: { role: Role } | null,
  action: OrgAction,
): OrgFailure | null {
  const decision = authorize(membership, action);
  if (decision.ok) return null;
  return {
    ok: false,
    status: REFUSAL_STATUS[decision.refusal],
    message: REFUSAL_MESSAGE[decision.refusal],
  };
}

const fail = (status: OrgFailure["status"], message: string): OrgFailure => ({
  ok: false,
  status,
  message,
});
const notFound = (): OrgFailure => fail(404, REFUSAL_MESSAGE["not-found"]);

export type OrganizationService = ReturnType<typeof createOrganizationService>;

export function createOrganizationService(deps: {
  prisma: PrismaClient;
  appOrigin: string;
  onMembershipChanged?: OnMembershipChanged;
  onMailQueued?: () => void;
  now?: () => Date;
}) {
  const { prisma, appOrigin } = deps;
  const now = deps.now ?? (() => new Date());
  const membershipChanged: OnMembershipChanged =
    deps.onMembershipChanged ?? (async () => {});

  return {
    /** The user's organisations, personal first (GET /api/orgs and the header's switcher). */
    async listFor(userId: string): Promise<OrganizationSummary[]> {
      const rows = await prisma.membership.findMany({
        where: { userId },
        select: {
          role: true,
          organization: {
            select: {
              id: true,
              name: true,
              personal: true,
              memberships: { select: { userId: true } },
            },
          },
        },
        orderBy: { createdAt: "asc" },
      });
      return rows
        .map(({ role, organization }) => ({
          id: organization.id,
          name: organization.name,
          personal: organization.personal,
          role,
          members: organization.memberships.length,
        }))
        .toSorted((a, b) => Number(b.personal) - Number(a.personal));
    },

    /** `POST /orgs`: a new organisation owned by the user, made the session's current one. */
    async create(
      userId: string,
      sessionId: string,
      input: { name?: unknown },
    ): Promise<OrgResult<{ id: string }>> {
      const name = OrganizationName.safeParse(input.name);
      if (!name.success)
        return fail(
          400,
          name.error.issues[0]?.message ?? "Enter a name for the organisation.",
        );
      const organization = await prisma.$transaction(async (tx) => {
        const created = await tx.organization.create({
          data: {
            name: name.data,
            memberships: { create: { userId, role: "owner" } },
          },
          select: { id: true },
        });
        await tx.session.updateMany({
          where: { id: sessionId, userId },
          data: { currentOrganizationId: created.id },
        });
        return created;
      });
      logEvent("info", "orgs.created", { organizationId: organization.id });
      return { ok: true, value: organization };
    },

    /** `POST /orgs/switch`: one of the user's own organisations becomes the session's current one; else 404. */
    async switchTo(
      userId: string,
      sessionId: string,
      organizationId: unknown,
    ): Promise<OrgResult> {
      if (!IdField.safeParse(organizationId).success) return notFound();
      const id = organizationId as string;
      const membership = await prisma.membership.findUnique({
        where: { organizationId_userId: { organizationId: id, userId } },
        select: { role: true },
      });
      const refused = check(membership, { kind: "view" });
      if (refused) return refused;
      await prisma.session.updateMany({
        where: { id: sessionId, userId },
        data: { currentOrganizationId: id },
      });
      return { ok: true, value: undefined };
    },

    /** The members page: members, pending invitations, and the caller's role. */
    async page(
      userId: string,
      organizationId: unknown,
    ): Promise<OrgResult<OrganizationPage>> {
      if (!IdField.safeParse(organizationId).success) return notFound();
      const id = organizationId as string;
      const membership = await prisma.membership.findUnique({
        where: { organizationId_userId: { organizationId: id, userId } },
        select: {
          role: true,
          organization: { select: { id: true, name: true, personal: true } },
        },
      });
      const refused = check(membership, { kind: "view" });
      if (refused || !membership) return refused ?? notFound();
      const [members, invitations] = await Promise.all([
        prisma.membership.findMany({
          where: { organizationId: id },
          select: {
            userId: true,
            role: true,
            createdAt: true,
            user: { select: { email: true } },
          },
          orderBy: { createdAt: "asc" },
        }),
        prisma.invitation.findMany({
          where: {
            organizationId: id,
            acceptedAt: null,
            expiresAt: { gt: now() },
          },
          select: { id: true, email: true, role: true, expiresAt: true },
          orderBy: { createdAt: "asc" },
        }),
      ]);
      return {
        ok: true,
        value: {
          organization: membership.organization,
          role: membership.role,
          members: members.map((member) => ({
            userId: member.userId,
            email: member.user.email,
            role: member.role,
            joinedAt: member.createdAt,
          })),
          invitations,
        },
      };
    },

    /**
     * `POST /orgs/<id>/invitations`: a single-use link (random token, stored hashed, 7 days), mailed through the
     * outbox in the same transaction and returned so the inviter can copy it.
     */
    async invite(
      userId: string,
      organizationId: unknown,
      input: { email?: unknown; role?: unknown },
    ): Promise<OrgResult<{ url: string; email: string }>> {
      if (!IdField.safeParse(organizationId).success) return notFound();
      const id = organizationId as string;
      const result = await prisma.$transaction(
        async (tx): Promise<OrgResult<{ url: string; email: string }>> => {
          const membership = await lockedMembership(tx, id, userId);
          const refused = check(membership, { kind: "invite", personal: membership?.organization.personal ?? false });
          if (refused || !membership) return refused ?? notFound();
          const email = EmailSchema.safeParse(input.email);
          if (!email.success)
            return fail(
              400,
              email.error.issues[0]?.message ?? "Enter a valid email address.",
            );
          const role = InvitableRole.safeParse(input.role);
          if (!role.success)
            return fail(400, "Choose a role: admin or member.");
          const existing = await tx.membership.findFirst({
            where: { organizationId: id, user: { email: email.data } },
            select: { userId: true },
          });
          if (existing) return fail(409, `${email.data} is already a member.`);
          const inviter = await tx.user.findUniqueOrThrow({
            where: { id: userId },
            select: { email: true },
          });
          const token = randomBytes(32).toString("base64url");
          const tokenHash = hashInvitationToken(token);
          await tx.invitation.create({
            data: {
              tokenHash,
              organizationId: id,
              email: email.data,
              role: role.data,
              invitedById: userId,
              expiresAt: new Date(now().getTime() + INVITATION_TTL_MS),
            },
          });
          const url = new URL(`/invitations/${token}`, appOrigin).href;
          await enqueueMail(tx, {
            template: "invitation",
            to: email.data,
            subject: tokenHash,
            props: {
              organization: membership.organization.name,
              inviter: inviter.email,
              role: role.data,
              url,
            },
          });
          return { ok: true, value: { url, email: email.data } };
        },
      );
      if (result.ok) {
        deps.onMailQueued?.();
        logEvent("info", "orgs.invited", { organizationId: id });
      }
      return result;
    },

    /** `POST /orgs/<id>/members/<userId>` with `role`: owners and admins change roles; only owners make (or unmake) owners. */
    async changeRole(
      userId: string,
      organizationId: unknown,
      targetUserId: unknown,
      input: { role?: unknown },
    ): Promise<OrgResult> {
      if (
        !IdField.safeParse(organizationId).success ||
        !IdField.safeParse(targetUserId).success
      )
        return notFound();
      const id = organizationId as string;
      return prisma.$transaction(async (tx): Promise<OrgResult> => {
        const membership = await lockedMembership(tx, id, userId);
        if (!membership) return notFound();
        const role = AnyRole.safeParse(input.role);
        if (!role.success)
          return fail(400, "Choose a role: owner, admin or member.");
        const target = await tx.membership.findUnique({
          where: {
            organizationId_userId: {
              organizationId: id,
              userId: targetUserId as string,
            },
          },
          select: { role: true },
        });
        if (!target)
          return fail(404, "That person is not a member of this organisation.");
        const refused = check(membership, {
          kind: "change-role",
          target,
          to: role.data,
          owners: await ownerCount(tx, id),
        });
        if (refused) return refused;
        if (target.role === role.data) return { ok: true, value: undefined };
        await tx.membership.update({
          where: {
            organizationId_userId: {
              organizationId: id,
              userId: targetUserId as string,
            },
          },
          data: { role: role.data },
        });
        return { ok: true, value: undefined };
      });
    },

    /** `POST /orgs/<id>/members/<userId>` with `intent=remove`. */
    async remove(
      userId: string,
      organizationId: unknown,
      targetUserId: unknown,
    ): Promise<OrgResult> {
      if (
        !IdField.safeParse(organizationId).success ||
        !IdField.safeParse(targetUserId).success
      )
        return notFound();
      const id = organizationId as string;
      return prisma.$transaction(async (tx): Promise<OrgResult> => {
        const membership = await lockedMembership(tx, id, userId);
        if (!membership) return notFound();
        const target = await tx.membership.findUnique({
          where: {
            organizationId_userId: {
              organizationId: id,
              userId: targetUserId as string,
            },
          },
          select: { role: true },
        });
        if (!target)
          return fail(404, "That person is not a member of this organisation.");
        const owners = await ownerCount(tx, id);
        const action: OrgAction =
          targetUserId === userId
            ? {
                kind: "leave",
                personal: membership.organization.personal,
                owners,
              }
            : { kind: "remove", target };
        const refused = check(membership, action);
        if (refused) return refused;
        await tx.membership.delete({
          where: {
            organizationId_userId: {
              organizationId: id,
              userId: targetUserId as string,
            },
          },
        });
        await membershipChanged(tx, id);
        return { ok: true, value: undefined };
      });
    },

    /** `POST /orgs/<id>/leave`: anyone but the last owner; never one's personal organisation. */
    async leave(userId: string, organizationId: unknown): Promise<OrgResult> {
      if (!IdField.safeParse(organizationId).success) return notFound();
      const id = organizationId as string;
      return prisma.$transaction(async (tx): Promise<OrgResult> => {
        const membership = await lockedMembership(tx, id, userId);
        const refused = check(membership, {
          kind: "leave",
          personal: membership?.organization.personal ?? false,
          owners: await ownerCount(tx, id),
        });
        if (refused || !membership) return refused ?? notFound();
        await tx.membership.delete({
          where: { organizationId_userId: { organizationId: id, userId } },
        });
        await membershipChanged(tx, id);
        return { ok: true, value: undefined };
      });
    },

    /** What `/invitations/<token>` shows to this signed-in user. */
    async lookUpInvitation(
      token: unknown,
      user: { email: string },
    ): Promise<InvitationLookup> {
      if (!TokenField.safeParse(token).success) return { status: "unknown" };
      const row = await prisma.invitation.findUnique({
        where: { tokenHash: hashInvitationToken(token as string) },
        select: {
          email: true,
          role: true,
          acceptedAt: true,
          expiresAt: true,
          organization: { select: { name: true } },
        },
      });
      if (!row) return { status: "unknown" };
      if (row.acceptedAt) return { status: "used" };
      if (row.expiresAt.getTime() <= now().getTime())
        return { status: "expired" };
      if (row.email !== user.email.toLowerCase())
        return { status: "other-account", organization: row.organization.name };
      return {
        status: "usable",
        organization: row.organization.name,
        role: row.role,
        email: row.email,
      };
    },

    /**
     * `POST /invitations/<token>`: the signed-in account with the invited email joins, once; the organisation becomes
     * the session's current one. A used, expired or someone else's invitation changes nothing.
     */
    async accept(
      token: unknown,
      user: { id: string; email: string },
      sessionId: string,
    ): Promise<OrgResult<{ organizationId: string }>> {
      if (!TokenField.safeParse(token).success)
        return fail(404, INVITATION_MESSAGES.unknown);
      const tokenHash = hashInvitationToken(token as string);
      return prisma.$transaction(
        async (tx): Promise<OrgResult<{ organizationId: string }>> => {
          const [row] = await tx.$queryRaw<
            {
              id: string;
              organizationId: string;
              email: string;
              role: Role;
              acceptedAt: Date | null;
              expiresAt: Date;
            }[]
          >`
          SELECT "id", "organizationId", "email", "role"::text AS "role", "acceptedAt", "expiresAt" FROM "Invitation"
          WHERE "tokenHash" = ${tokenHash} FOR UPDATE`;
          if (!row) return fail(404, INVITATION_MESSAGES.unknown);
          if (row.acceptedAt) return fail(410, INVITATION_MESSAGES.used);
          if (new Date(row.expiresAt).getTime() <= now().getTime())
            return fail(410, INVITATION_MESSAGES.expired);
          if (row.email !== user.email.toLowerCase())
            return fail(403, INVITATION_MESSAGES["other-account"]);
          await tx.invitation.update({
            where: { id: row.id },
            data: { acceptedAt: now() },
          });
          const joined = await tx.membership.createMany({
            data: [
              {
                organizationId: row.organizationId,
                userId: user.id,
                role: row.role,
              },
            ],
            skipDuplicates: true,
          });
          if (joined.count > 0) await membershipChanged(tx, row.organizationId);
          await tx.session.updateMany({
            where: { id: sessionId, userId: user.id },
            data: { currentOrganizationId: row.organizationId },
          });
          return { ok: true, value: { organizationId: row.organizationId } };
        },
      );
    },
  };
}
