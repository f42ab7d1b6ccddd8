import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseConfig } from "~/config/env.server.ts";
import { type Role, personalOrganizationId } from "~/orgs/billing-owner.ts";
import { authorize } from "~/orgs/authorization.ts";
import {
  INVITATION_TTL_MS,
  type OnMembershipChanged,
} from "~/orgs/organizations.server.ts";
import { type Services, startServices } from "~/start-services.server.ts";
import { createTestDatabase } from "./database.ts";
import { jobRows } from "./jobs.ts";

// SPEC "Organisations and seats": who may do what in an organisation (app/orgs/authorization.ts is the one
// place), through the organisation service and the billing doors, on a real database and the emulated Stripe.

const APP = "http://app.test";
const PASSWORD = "a-long-enough-password";

let services: Services;
/** What the seats hook saw: the organisation, and whether it ran inside a transaction that later committed. */
const hookCalls: string[] = [];
let failHook = false;
const onMembershipChanged: OnMembershipChanged = async (tx, organizationId) => {
  // Inside the change's transaction: it sees the change itself.
  const members = await tx.membership.count({ where: { organizationId } });
  hookCalls.push(`${organizationId}:${members}`);
  if (failHook) throw new Error("seats failed");
};

beforeAll(async () => {
  const config = parseConfig({
    APP_ENV: "test",
    APP_URL: APP,
    PAYMENT_PROVIDER: "stripe",
    PAYMENT_EMULATOR: "1",
    RATE_LIMIT_PROVIDER_CALLS_PER_MINUTE: "0",
  });
  services = await startServices(config, {
    database: await createTestDatabase(),
    startJobs: false,
    onMembershipChanged,
  });
}, 60_000);
afterAll(() => services?.stop());

const prisma = () => services.database.prisma;
const orgs = () => services.organizations;

type Person = { id: string; email: string; cookie: string; sessionId: string };
let people = 0;

/** A signed-up user with a session: their id, email, cookie and session id. */
async function person(name = "person"): Promise<Person> {
  const email = `${name}-${++people}@orgs.test`;
  const result = await services.auth.signup(
    new Request(`${APP}/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email, password: PASSWORD }),
    }),
  );
  if (!result.ok) throw new Error("could not sign up");
  const cookie = result.headers.get("Set-Cookie")!.split(";")[0]!;
  const lookup = await services.auth.getUser(
    new Request(`${APP}/account`, { headers: { Cookie: cookie } }),
  );
  const session = await prisma().session.findFirstOrThrow({
    where: { userId: result.user.id },
    orderBy: { createdAt: "desc" },
  });
  expect(lookup?.id).toBe(result.user.id);
  return { id: result.user.id, email, cookie, sessionId: session.id };
}

/** An organisation owned by `owner`, with `others` joined at their roles (invited and accepted). */
async function team(
  owner: Person,
  others: [Person, Role][] = [],
): Promise<string> {
  const created = await orgs().create(owner.id, owner.sessionId, {
    name: "Acme",
  });
  if (!created.ok) throw new Error(created.message);
  const organizationId = created.value.id;
  for (const [member, role] of others) {
    const invited = await orgs().invite(owner.id, organizationId, {
      email: member.email,
      role: role === "owner" ? "admin" : role,
    });
    if (!invited.ok) throw new Error(invited.message);
    const accepted = await orgs().accept(
      tokenOf(invited.value.url),
      member,
      member.sessionId,
    );
    if (!accepted.ok) throw new Error(accepted.message);
    if (
      role === "owner" &&
      !(
        await orgs().changeRole(owner.id, organizationId, member.id, {
          role: "owner",
        })
      ).ok
    )
      throw new Error("not made owner");
  }
  return organizationId;
}

const tokenOf = (url: string) => new URL(url).pathname.split("/").at(-1)!;
const roles = async (organizationId: string) =>
  Object.fromEntries(
    (
      await prisma().membership.findMany({
        where: { organizationId },
        select: { userId: true, role: true },
      })
    ).map((m) => [m.userId, m.role]),
  );

describe("the rules (authorization.ts)", () => {
  test("not a member: not found, whatever the action", () => {
    for (const action of [
      { kind: "view" },
      { kind: "manage-billing" },
      { kind: "invite", personal: false },
    ] as const) {
      expect(authorize(null, action)).toEqual({
        ok: false,
        refusal: "not-found",
      });
    }
  });
});

describe("organisations", () => {
  test("nobody is invited into a personal organisation: a clear refusal, no invitation stored", async () => {
    const alice = await person("solo");
    const result = await orgs().invite(alice.id, personalOrganizationId(alice.id), { email: "friend@example.test", role: "member" });
    expect(result).toMatchObject({ ok: false, status: 409 });
    expect(await prisma().invitation.count({ where: { organizationId: personalOrganizationId(alice.id) } })).toBe(0);
  });

  test("signup makes a personal organisation, owned by the user, and the session acts for it", async () => {
    const alice = await person("alice");
    const user = await services.auth.getUser(
      new Request(`${APP}/`, { headers: { Cookie: alice.cookie } }),
    );
    expect(user?.organization).toEqual({
      id: personalOrganizationId(alice.id),
      name: "Personal",
      personal: true,
      role: "owner",
    });
  });

  test("creating one makes the user its owner and switches to it; switching to a foreign one is 404 and changes nothing", async () => {
    const owner = await person("owner");
    const stranger = await person("stranger");
    const organizationId = await team(owner);
    const seen = await services.auth.getUser(
      new Request(`${APP}/`, { headers: { Cookie: owner.cookie } }),
    );
    expect(seen?.organization).toMatchObject({
      id: organizationId,
      name: "Acme",
      role: "owner",
      personal: false,
    });

    expect(
      await orgs().switchTo(stranger.id, stranger.sessionId, organizationId),
    ).toMatchObject({ ok: false, status: 404 });
    const strangers = await services.auth.getUser(
      new Request(`${APP}/`, { headers: { Cookie: stranger.cookie } }),
    );
    expect(strangers?.organization?.id).toBe(
      personalOrganizationId(stranger.id),
    );
    expect(
      await orgs().switchTo(
        owner.id,
        owner.sessionId,
        personalOrganizationId(owner.id),
      ),
    ).toEqual({ ok: true, value: undefined });
  });

  test("a name that is empty, 10,000 characters long or carries markup is refused; nothing is made", async () => {
    const owner = await person();
    const before = await prisma().organization.count();
    for (const name of [
      "",
      "   ",
      "x".repeat(10_000),
      "<script>alert(1)</script>",
      "Acme\u0000",
      42,
      undefined,
    ]) {
      expect(
        await orgs().create(owner.id, owner.sessionId, { name }),
      ).toMatchObject({ ok: false, status: 400 });
    }
    expect(await prisma().organization.count()).toBe(before);
  });

  test("a non-member gets 404 from every door and changes nothing", async () => {
    const owner = await person();
    const member = await person();
    const stranger = await person();
    const organizationId = await team(owner, [[member, "member"]]);
    const before = await roles(organizationId);
    expect(await orgs().page(stranger.id, organizationId)).toMatchObject({
      ok: false,
      status: 404,
    });
    expect(
      await orgs().invite(stranger.id, organizationId, {
        email: "x@orgs.test",
        role: "member",
      }),
    ).toMatchObject({ ok: false, status: 404 });
    expect(
      await orgs().changeRole(stranger.id, organizationId, member.id, {
        role: "admin",
      }),
    ).toMatchObject({ ok: false, status: 404 });
    expect(
      await orgs().remove(stranger.id, organizationId, member.id),
    ).toMatchObject({ ok: false, status: 404 });
    expect(await orgs().leave(stranger.id, organizationId)).toMatchObject({
      ok: false,
      status: 404,
    });
    // Unknown and malformed ids are the same 404.
    for (const id of [
      "no-such-org",
      "'; DROP TABLE x;--",
      "x".repeat(10_000),
      7,
      null,
    ]) {
      expect(await orgs().page(owner.id, id)).toMatchObject({
        ok: false,
        status: 404,
      });
    }
    expect(await roles(organizationId)).toEqual(before);
    expect(
      await prisma().invitation.count({
        where: { organizationId, email: "x@orgs.test" },
      }),
    ).toBe(0);
  });

  test("a member without the role gets 403: no invitations, no role changes, no removals", async () => {
    const owner = await person();
    const member = await person();
    const other = await person();
    const organizationId = await team(owner, [
      [member, "member"],
      [other, "member"],
    ]);
    const before = await roles(organizationId);
    expect(await orgs().page(member.id, organizationId)).toMatchObject({
      ok: true,
    });
    expect(
      await orgs().invite(member.id, organizationId, {
        email: "y@orgs.test",
        role: "member",
      }),
    ).toMatchObject({ ok: false, status: 403 });
    expect(
      await orgs().changeRole(member.id, organizationId, other.id, {
        role: "admin",
      }),
    ).toMatchObject({ ok: false, status: 403 });
    expect(
      await orgs().remove(member.id, organizationId, other.id),
    ).toMatchObject({ ok: false, status: 403 });
    expect(await roles(organizationId)).toEqual(before);
    expect(
      await prisma().invitation.count({
        where: { organizationId, email: "y@orgs.test" },
      }),
    ).toBe(0);
  });

  test("only owners make owners: an admin can neither make one nor demote or remove one", async () => {
    const owner = await person();
    const admin = await person();
    const member = await person();
    const organizationId = await team(owner, [
      [admin, "admin"],
      [member, "member"],
    ]);
    expect(
      await orgs().changeRole(admin.id, organizationId, member.id, {
        role: "owner",
      }),
    ).toMatchObject({ ok: false, status: 403 });
    expect(
      await orgs().changeRole(admin.id, organizationId, admin.id, {
        role: "owner",
      }),
    ).toMatchObject({ ok: false, status: 403 });
    expect(
      await orgs().changeRole(admin.id, organizationId, owner.id, {
        role: "member",
      }),
    ).toMatchObject({ ok: false, status: 403 });
    expect(
      await orgs().remove(admin.id, organizationId, owner.id),
    ).toMatchObject({ ok: false, status: 403 });
    expect(await roles(organizationId)).toEqual({
      [owner.id]: "owner",
      [admin.id]: "admin",
      [member.id]: "member",
    });
    // An admin manages members and admins; an owner makes owners.
    expect(
      await orgs().changeRole(admin.id, organizationId, member.id, {
        role: "admin",
      }),
    ).toEqual({ ok: true, value: undefined });
    expect(
      await orgs().changeRole(owner.id, organizationId, member.id, {
        role: "owner",
      }),
    ).toEqual({ ok: true, value: undefined });
    expect((await roles(organizationId))[member.id]).toBe("owner");
  });

  test("the last owner can neither leave nor be demoted nor removed; with a second owner they can", async () => {
    const owner = await person();
    const second = await person();
    const organizationId = await team(owner, [[second, "admin"]]);
    expect(await orgs().leave(owner.id, organizationId)).toMatchObject({
      ok: false,
      status: 409,
    });
    expect(
      await orgs().changeRole(owner.id, organizationId, owner.id, {
        role: "admin",
      }),
    ).toMatchObject({ ok: false, status: 409 });
    expect(
      await orgs().remove(owner.id, organizationId, owner.id),
    ).toMatchObject({ ok: false, status: 409 });
    expect((await roles(organizationId))[owner.id]).toBe("owner");

    expect(
      await orgs().changeRole(owner.id, organizationId, second.id, {
        role: "owner",
      }),
    ).toEqual({ ok: true, value: undefined });
    expect(
      await orgs().changeRole(owner.id, organizationId, owner.id, {
        role: "admin",
      }),
    ).toEqual({ ok: true, value: undefined });
    expect(await orgs().leave(owner.id, organizationId)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(await roles(organizationId)).toEqual({ [second.id]: "owner" });
  });

  test("a personal organisation cannot be left, even with another owner in it", async () => {
    const alice = await person();
    const bob = await person();
    const personal = personalOrganizationId(alice.id);
    await prisma().membership.create({ data: { organizationId: personal, userId: bob.id, role: "owner" } });
    expect(await orgs().leave(alice.id, personal)).toMatchObject({ ok: false, status: 409, message: "Your personal organisation cannot be left." });
    expect(await prisma().membership.count({ where: { organizationId: personal, userId: alice.id } })).toBe(1);
  });

  test("bad role or an existing member is refused, nothing is stored", async () => {
    const owner = await person();
    const member = await person();
    const organizationId = await team(owner, [[member, "member"]]);
    const before = await prisma().invitation.count({
      where: { organizationId },
    });
    for (const role of ["owner", "superuser", "", 1, null]) {
      expect(
        await orgs().invite(owner.id, organizationId, {
          email: "new@orgs.test",
          role,
        }),
      ).toMatchObject({ ok: false, status: 400 });
    }
    expect(
      await orgs().invite(owner.id, organizationId, {
        email: "not an email",
        role: "member",
      }),
    ).toMatchObject({ ok: false, status: 400 });
    expect(
      await orgs().invite(owner.id, organizationId, {
        email: member.email.toUpperCase(),
        role: "member",
      }),
    ).toMatchObject({ ok: false, status: 409 });
    expect(
      await orgs().changeRole(owner.id, organizationId, member.id, {
        role: "superuser",
      }),
    ).toMatchObject({ ok: false, status: 400 });
    expect(await prisma().invitation.count({ where: { organizationId } })).toBe(
      before,
    );
    expect((await roles(organizationId))[member.id]).toBe("member");
  });
});

describe("invitations", () => {
  test("the link is single use, stored hashed, mailed through the outbox, accepted only by the invited email", async () => {
    const owner = await person();
    const invitee = await person();
    const someoneElse = await person();
    const organizationId = await team(owner);
    const invited = await orgs().invite(owner.id, organizationId, {
      email: ` ${invitee.email.toUpperCase()} `,
      role: "admin",
    });
    if (!invited.ok) throw new Error(invited.message);
    const token = tokenOf(invited.value.url);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await prisma().invitation.findFirstOrThrow({
      where: { organizationId },
    });
    expect(row.tokenHash).not.toContain(token);
    expect(row.email).toBe(invitee.email);
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeGreaterThan(
      INVITATION_TTL_MS - 60_000,
    );
    // The mail is queued with the invitation, keyed by it (a JobKey row beside its pg-boss job, ADR 027).
    expect(await prisma().jobKey.count({ where: { dedupKey: `mail:invitation:${row.tokenHash}` } })).toBe(1);
    const mails = (await jobRows(services.database, "mail"))
      .map((job) => (job.data as { payload: { template?: string; props?: { url?: string } } }).payload)
      .filter((mail) => mail.template === "invitation" && mail.props?.url === invited.value.url);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({
      template: "invitation",
      to: invitee.email,
      props: { url: invited.value.url, organization: "Acme" },
    });

    // Someone else's account: refused, nothing changes.
    expect(await orgs().lookUpInvitation(token, someoneElse)).toEqual({
      status: "other-account",
      organization: "Acme",
    });
    expect(
      await orgs().accept(token, someoneElse, someoneElse.sessionId),
    ).toMatchObject({ ok: false, status: 403 });
    expect(await roles(organizationId)).toEqual({ [owner.id]: "owner" });

    hookCalls.length = 0;
    expect(await orgs().lookUpInvitation(token, invitee)).toMatchObject({
      status: "usable",
      organization: "Acme",
      role: "admin",
    });
    expect(await orgs().accept(token, invitee, invitee.sessionId)).toEqual({
      ok: true,
      value: { organizationId },
    });
    expect(await roles(organizationId)).toEqual({
      [owner.id]: "owner",
      [invitee.id]: "admin",
    });
    expect(hookCalls).toEqual([`${organizationId}:2`]);
    const seen = await services.auth.getUser(
      new Request(`${APP}/`, { headers: { Cookie: invitee.cookie } }),
    );
    expect(seen?.organization).toMatchObject({
      id: organizationId,
      role: "admin",
    });

    // Used: a clear message, nothing more.
    expect(await orgs().lookUpInvitation(token, invitee)).toEqual({
      status: "used",
    });
    expect(
      await orgs().accept(token, invitee, invitee.sessionId),
    ).toMatchObject({
      ok: false,
      status: 410,
      message: "This invitation was already used.",
    });
    expect(await orgs().lookUpInvitation("not-a-token", invitee)).toEqual({
      status: "unknown",
    });
  });

  test("an expired invitation is refused", async () => {
    const owner = await person();
    const invitee = await person();
    const organizationId = await team(owner);
    const invited = await orgs().invite(owner.id, organizationId, {
      email: invitee.email,
      role: "member",
    });
    if (!invited.ok) throw new Error(invited.message);
    await prisma().invitation.updateMany({
      where: { organizationId },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(
      await orgs().lookUpInvitation(tokenOf(invited.value.url), invitee),
    ).toEqual({ status: "expired" });
    expect(
      await orgs().accept(
        tokenOf(invited.value.url),
        invitee,
        invitee.sessionId,
      ),
    ).toMatchObject({ ok: false, status: 410 });
    expect(await roles(organizationId)).toEqual({ [owner.id]: "owner" });
  });

  test("every membership change calls the seats hook in its transaction: if it fails, the change is undone", async () => {
    const owner = await person();
    const member = await person();
    const leaver = await person();
    const organizationId = await team(owner, [
      [member, "member"],
      [leaver, "member"],
    ]);
    hookCalls.length = 0;
    expect(await orgs().remove(owner.id, organizationId, member.id)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(await orgs().leave(leaver.id, organizationId)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(hookCalls).toEqual([`${organizationId}:2`, `${organizationId}:1`]);

    const again = await person();
    const invited = await orgs().invite(owner.id, organizationId, {
      email: again.email,
      role: "member",
    });
    if (!invited.ok) throw new Error(invited.message);
    failHook = true;
    try {
      await expect(
        orgs().accept(tokenOf(invited.value.url), again, again.sessionId),
      ).rejects.toThrow("seats failed");
    } finally {
      failHook = false;
    }
    expect(await roles(organizationId)).toEqual({ [owner.id]: "owner" });
    expect(
      (
        await prisma().invitation.findFirstOrThrow({
          where: { organizationId, email: again.email },
        })
      ).acceptedAt,
    ).toBeNull();
  });
});

const post = (
  cookie: string,
  url: string,
  json: boolean,
  body: Record<string, string> = {},
) =>
  new Request(url, {
    method: "POST",
    headers: json
      ? { "Content-Type": "application/json", Cookie: cookie }
      : {
          "Content-Type": "application/x-www-form-urlencoded",
          Cookie: cookie,
          Origin: APP,
        },
    body: json ? JSON.stringify(body) : new URLSearchParams(body),
  });

describe("billing doors", () => {
  test("a member (not owner or admin) gets 403 Forbidden from checkout and portal, JSON and form; no provider call", async () => {
    const owner = await person();
    const member = await person();
    await team(owner, [[member, "member"]]);
    services.emulator!.reset();
    const portal = await services.handlePortalRequest(
      post(member.cookie, `${APP}/api/payments/portal`, true),
      "json",
    );
    expect(portal.status).toBe(403);
    expect(await portal.json()).toEqual({
      error: "Forbidden",
      code: "forbidden",
    });
    const checkout = await services.handleCheckoutRequest(
      post(member.cookie, `${APP}/api/payments/checkout`, true, {
        plan: "team",
      }),
      "json",
    );
    expect(checkout.status).toBe(403);
    expect(await checkout.json()).toEqual({
      error: "Forbidden",
      code: "forbidden",
    });

    const form = await services.handlePortalRequest(
      post(member.cookie, `${APP}/billing/portal`, false, {
        returnUrl: "/account",
      }),
      "form-or-json",
    );
    expect(form.status).toBe(303);
    expect(form.headers.get("Location")).toBe("/account");
    const { message } = await services.flash.take(
      new Request(`${APP}/account`, {
        headers: { Cookie: form.headers.get("Set-Cookie")!.split(";")[0]! },
      }),
    );
    expect(message).toBe("Only an owner or admin can manage billing.");
    expect(services.emulator!.requests("stripe")).toHaveLength(0);
  });

  test("an admin reaches the provider: a per-seat checkout carries the organisation's id and its member count", async () => {
    const owner = await person();
    const admin = await person();
    const member = await person();
    const organizationId = await team(owner, [
      [admin, "admin"],
      [member, "member"],
    ]);
    services.emulator!.reset();
    const response = await services.handleCheckoutRequest(
      post(admin.cookie, `${APP}/api/payments/checkout`, true, {
        plan: "team",
      }),
      "json",
    );
    expect(response.status).toBe(200);
    const [call] = services
      .emulator!.requests("stripe")
      .filter((request) => request.path === "/v1/checkout/sessions");
    const body = call!.body as Record<string, string>;
    expect(body.client_reference_id).toBe(organizationId);
    expect(body["metadata[organization_id]"]).toBe(organizationId);
    expect(body["line_items[0][price]"]).toBe("price_emulated_team");
  });
});
