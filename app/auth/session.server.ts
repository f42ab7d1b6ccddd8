import { randomBytes } from "node:crypto";
import DataLoader from "dataloader";
import { createCookie } from "react-router";
import type { RawRead } from "~/db/database.server.ts";
import type { MembershipRole, PaymentProvider, PrismaClient } from "~/db/generated/client.ts";
import type { SubscriptionStatus } from "~/billing/subscription-status.ts";
import type { OwnerSubscriptionRow } from "~/entitlements/entitlements.ts";
import { createSignedCookieReader } from "./signed-cookie.server.ts";

export const SESSION_COOKIE_NAME = "__session";
export const SESSION_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

const COOKIE_PRESENT = new RegExp(`(?:^|;)\\s*${SESSION_COOKIE_NAME}=`);

/** A billing account of the current organisation's, as the portal needs it. */
export type SessionCustomer = { provider: PaymentProvider; providerCustomerId: string };

/** The organisation the session acts for (the billing owner), and the user's role in it. */
export type SessionOrganization = { id: string; name: string; personal: boolean; role: MembershipRole };

export type SessionUser = {
  id: string;
  email: string;
  /** The session this request signs in with (switching organisation writes to it). */
  sessionId: string;
  /**
   * The organisation the user acts for: the session's current one while the user is still a member of it,
   * else the user's personal one. Null only for a user with no membership at all (none is made that way).
   */
  organization: SessionOrganization | null;
  /** The current organisation's billing customers, oldest first: read with the session, so the portal needs no query of its own. */
  customers: SessionCustomer[];
  /**
   * The current organisation's subscriptions in a state that can grant a plan (active, trialing, past due), read
   * in the same statement: what entitlements are decided from on every gated request (ADR 030), no query of
   * their own and no cache to invalidate.
   */
  subscriptions: OwnerSubscriptionRow[];
};

/** What the request's cookie says: no cookie, a live session, or a cookie that no longer signs anyone in. */
export type SessionLookup =
  | { status: "none" }
  | { status: "active"; sessionId: string; user: SessionUser }
  | { status: "invalid" };

export type SessionStore = {
  /** Creates a server-side session for the user and returns the `Set-Cookie` value carrying its id. */
  create(userId: string): Promise<string>;
  /** Makes `organizationId` the session's current organisation (the caller checked the membership). */
  switchOrganization(sessionId: string, organizationId: string): Promise<void>;
  /** Reads the session the request's cookie points at; expired rows are deleted on the way. */
  read(request: Request): Promise<SessionLookup>;
  /** Deletes the request's server-side session (if any) and returns a `Set-Cookie` value clearing the cookie. */
  destroy(request: Request): Promise<string>;
  /** A `Set-Cookie` value that removes the cookie from the browser. */
  clearCookie(): Promise<string>;
};

export type SessionStoreOptions = {
  prisma: PrismaClient;
  /** The driver's own query for the lookup on every request (Database.read), without Prisma's pipeline. */
  read: RawRead;
  /** Newest first: the first signs new cookies, all of them are accepted (secret rotation). */
  secrets: string[];
  /** Secure cookies when the app is served over https. */
  secure: boolean;
  now?: () => Date;
};

type SessionRow = {
  sessionId: string;
  /** Milliseconds since the epoch: a number from either driver, whatever its time-zone handling of `timestamp`. */
  expiresAtMs: number;
  userId: string;
  email: string;
  organizationId: string | null;
  organizationName: string | null;
  organizationPersonal: boolean | null;
  role: MembershipRole | null;
  provider: PaymentProvider | null;
  providerCustomerId: string | null;
  /** JSON array (see SESSION_LOOKUP); a string or parsed, as the driver gives json. */
  subscriptions: string | StoredGrant[] | null;
};

/** One subscription as the session statement's json_agg has it: times in epoch milliseconds. */
type StoredGrant = {
  provider: PaymentProvider;
  providerSubscriptionId: string;
  plan: string | null;
  status: SubscriptionStatus;
  cancelAtPeriodEnd: boolean;
  currentPeriodEndMs: number | null;
  pastDueSinceMs: number | null;
  trialEndMs: number | null;
  endedAtMs: number | null;
};

/**
 * Session, user, current organisation with the user's role, and its customers in one statement: this
 * runs on every signed-in request, for every session looked up in the same turn of the event loop at
 * once (see `createSessionStore`). The current organisation is the session's while the user is still
 * a member of it (a removed member falls back), else the personal one, else the oldest membership.
 */
const SESSION_LOOKUP = `
  SELECT s."id" AS "sessionId", (EXTRACT(EPOCH FROM s."expirationDate") * 1000)::float8 AS "expiresAtMs",
         u."id" AS "userId", u."email",
         o."id" AS "organizationId", o."name" AS "organizationName", o."personal" AS "organizationPersonal",
         o."role"::text AS "role",
         c."provider"::text AS "provider", c."providerCustomerId", g."subscriptions"
  FROM "Session" s
  JOIN "User" u ON u."id" = s."userId"
  LEFT JOIN LATERAL (
    SELECT org."id", org."name", org."personal", m."role"
    FROM "Membership" m JOIN "Organization" org ON org."id" = m."organizationId"
    WHERE m."userId" = u."id"
    ORDER BY (m."organizationId" = s."currentOrganizationId") IS TRUE DESC, org."personal" DESC, m."createdAt" ASC
    LIMIT 1
  ) o ON true
  LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object(
      'provider', sub."provider", 'providerSubscriptionId', sub."providerSubscriptionId", 'plan', sub."plan",
      'status', sub."status", 'cancelAtPeriodEnd', sub."cancelAtPeriodEnd",
      'currentPeriodEndMs', (EXTRACT(EPOCH FROM sub."currentPeriodEnd") * 1000)::float8,
      'pastDueSinceMs', (EXTRACT(EPOCH FROM sub."pastDueSince") * 1000)::float8,
      'trialEndMs', (EXTRACT(EPOCH FROM sub."trialEnd") * 1000)::float8,
      'endedAtMs', (EXTRACT(EPOCH FROM sub."endedAt") * 1000)::float8)) AS "subscriptions"
    FROM "Subscription" sub
    WHERE sub."organizationId" = o."id" AND sub."status" IN ('active', 'trialing', 'past_due')
  ) g ON true
  LEFT JOIN "Customer" c ON c."organizationId" = o."id"
  WHERE s."id" = ANY($1::text[])
  ORDER BY c."createdAt" ASC`;

/** Sessions looked up in one statement at most; more wait for the next. */
const MAX_LOOKUP_BATCH = 100;

/**
 * Server-side sessions: the signed cookie holds only an opaque random id; the Session row holds
 * the user and the expiry, so deleting the row signs a copied cookie out.
 */
export function createSessionStore({
  prisma,
  read,
  secrets,
  secure,
  now = () => new Date(),
}: SessionStoreOptions): SessionStore {
  if (secrets.length === 0 || secrets.some((secret) => secret.length === 0)) {
    throw new Error("Session cookies need at least one non-empty secret (SESSION_SECRET).");
  }
  const cookie = createCookie(SESSION_COOKIE_NAME, {
    secrets,
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secure,
  });
  const readCookie = createSignedCookieReader(SESSION_COOKIE_NAME, secrets);

  // Under load many requests look their session up in the same turn of the event loop: they share
  // one statement (issue 9: each statement is a socket write and a wake-up of a database process,
  // on the same cores). Nothing is cached (ADR 018): every lookup reads the database, so a deleted
  // session stops working at once. A lone request waits only for the end of the current turn.
  const sessionRows = new DataLoader<string, SessionRow[]>(
    async (ids) => {
      const rows = await read<SessionRow>(SESSION_LOOKUP, [ids]);
      const bySession = new Map<string, SessionRow[]>();
      for (const row of rows) {
        const list = bySession.get(row.sessionId);
        if (list) list.push(row);
        else bySession.set(row.sessionId, [row]);
      }
      return ids.map((id) => bySession.get(id) ?? []);
    },
    { cache: false, maxBatchSize: MAX_LOOKUP_BATCH, batchScheduleFn: (run) => setImmediate(run) },
  );

  async function readSessionId(request: Request): Promise<string | null | undefined> {
    const header = request.headers.get("Cookie");
    if (!header) return undefined;
    // `parse` answers null for a missing cookie and for a bad signature alike: tell them apart.
    const value = readCookie(header);
    if (value === null) return COOKIE_PRESENT.test(header) ? null : undefined;
    return typeof value === "string" && value.length > 0 ? value : null;
  }

  async function clearCookie(): Promise<string> {
    return cookie.serialize("", { maxAge: 0, expires: new Date(0) });
  }

  async function lookUp(request: Request): Promise<SessionLookup> {
    const sessionId = await readSessionId(request);
    if (sessionId === undefined) return { status: "none" };
    if (sessionId === null) return { status: "invalid" };
    const rows = await sessionRows.load(sessionId);
    const first = rows[0];
    if (!first) return { status: "invalid" };
    if (first.expiresAtMs <= now().getTime()) {
      await prisma.session.deleteMany({ where: { id: sessionId } });
      return { status: "invalid" };
    }
    const customers = rows.flatMap((row) =>
      row.provider && row.providerCustomerId ? [{ provider: row.provider, providerCustomerId: row.providerCustomerId }] : [],
    );
    const organization =
      first.organizationId && first.organizationName !== null && first.role
        ? { id: first.organizationId, name: first.organizationName, personal: first.organizationPersonal === true, role: first.role }
        : null;
    return {
      status: "active",
      sessionId,
      user: { id: first.userId, email: first.email, sessionId, organization, customers, subscriptions: grantsOf(first.subscriptions) },
    };
  }

  // React Router hands every loader of one page request the same Request (the root's and the
  // page's both ask who is signed in): one database lookup serves them all.
  const lookups = new WeakMap<Request, Promise<SessionLookup>>();

  return {
    async create(userId) {
      const expirationDate = new Date(now().getTime() + SESSION_MAX_AGE_MS);
      // 256 random bits rather than Prisma's cuid, which is partly time and counter.
      const session = await prisma.session.create({
        data: { id: randomBytes(32).toString("base64url"), userId, expirationDate },
        select: { id: true },
      });
      return cookie.serialize(session.id, { expires: expirationDate });
    },

    async switchOrganization(sessionId, organizationId) {
      await prisma.session.updateMany({ where: { id: sessionId }, data: { currentOrganizationId: organizationId } });
    },

    read(request) {
      let lookup = lookups.get(request);
      if (!lookup) {
        lookup = lookUp(request);
        lookups.set(request, lookup);
      }
      return lookup;
    },

    async destroy(request) {
      lookups.delete(request);
      const sessionId = await readSessionId(request);
      if (sessionId) await prisma.session.deleteMany({ where: { id: sessionId } });
      return clearCookie();
    },

    clearCookie,
  };
}

const dateOf = (ms: number | null) => (ms === null ? null : new Date(ms));

function grantsOf(value: SessionRow["subscriptions"]): OwnerSubscriptionRow[] {
  if (value === null) return [];
  const stored = (typeof value === "string" ? JSON.parse(value) : value) as StoredGrant[];
  return stored.map((row) => ({
    provider: row.provider,
    providerSubscriptionId: row.providerSubscriptionId,
    plan: row.plan,
    status: row.status,
    cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    currentPeriodEnd: dateOf(row.currentPeriodEndMs),
    pastDueSince: dateOf(row.pastDueSinceMs),
    trialEnd: dateOf(row.trialEndMs),
    endedAt: dateOf(row.endedAtMs),
  }));
}
