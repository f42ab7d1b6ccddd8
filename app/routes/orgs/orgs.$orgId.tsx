import { Form, Link, data } from "react-router";
import type { Route } from "./+types/orgs.$orgId";
import { FlashMessage } from "~/billing/flash-message.tsx";
import {
  auth,
  invitationLinkFlash,
  orgFlash,
  organizations,
} from "~/services.server.ts";

export const meta: Route.MetaFunction = ({ loaderData }) => [
  {
    title: `${loaderData?.page.organization.name ?? "Organisation"} · PortalStack`,
  },
];

/** The members page: members and their roles, pending invitations, invite, change role, remove, leave. */
export async function loader({ request, params }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const result = await organizations.page(user.id, params.orgId);
  if (!result.ok) throw data(result.message, { status: result.status });
  const headers = new Headers();
  const flash = await orgFlash.take(request);
  const link = await invitationLinkFlash.take(request);
  for (const taken of [flash, link])
    for (const value of taken.headers.getSetCookie())
      headers.append("Set-Cookie", value);
  return data(
    {
      page: result.value,
      me: user.id,
      message: flash.message,
      invitationLink: link.message,
    },
    { headers },
  );
}

const ROLE_NAMES = {
  owner: "Owner",
  admin: "Admin",
  member: "Member",
} as const;

export default function OrganisationPage({ loaderData }: Route.ComponentProps) {
  const { page, me, message, invitationLink } = loaderData;
  const { organization, role, members, invitations } = page;
  const manages = role === "owner" || role === "admin";
  const base = `/orgs/${organization.id}`;
  return (
    <main className="page narrow">
      <h1>{organization.name}</h1>
      <p>
        Your role: <strong>{ROLE_NAMES[role]}</strong>.{" "}
        <Link to="/account">Billing for this organisation</Link>
      </p>
      <FlashMessage message={message} />
      {invitationLink ? (
        <div className="field">
          <label htmlFor="invitation-link">
            Invitation link (also mailed; works once, for 7 days)
          </label>
          <input id="invitation-link" readOnly value={invitationLink} />
        </div>
      ) : null}

      <section className="card" aria-labelledby="members-heading">
        <h2 id="members-heading">Members ({members.length})</h2>
        <ul className="member-list">
          {members.map((member) => (
            <li key={member.userId}>
              <span>
                {member.email} · {ROLE_NAMES[member.role]}
                {member.userId === me ? " (you)" : ""}
              </span>
              {manages && member.userId !== me && !organization.personal ? (
                <span className="member-actions">
                  <Form
                    method="post"
                    action={`${base}/members/${member.userId}`}
                  >
                    <label
                      htmlFor={`role-${member.userId}`}
                      className="visually-hidden"
                    >
                      Role of {member.email}
                    </label>
                    <select
                      id={`role-${member.userId}`}
                      name="role"
                      defaultValue={member.role}
                    >
                      {(role === "owner"
                        ? (["owner", "admin", "member"] as const)
                        : (["admin", "member"] as const)
                      ).map((option) => (
                        <option key={option} value={option}>
                          {ROLE_NAMES[option]}
                        </option>
                      ))}
                    </select>
                    <button type="submit" className="button small">
                      Change role
                    </button>
                  </Form>
                  <Form
                    method="post"
                    action={`${base}/members/${member.userId}`}
                  >
                    <input type="hidden" name="intent" value="remove" />
                    <button type="submit" className="button small">
                      Remove {member.email}
                    </button>
                  </Form>
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      </section>

      {manages && !organization.personal ? (
        <section className="card" aria-labelledby="invite-heading">
          <h2 id="invite-heading">Invite someone</h2>
          {invitations.length > 0 ? (
            <ul>
              {invitations.map((invitation) => (
                <li key={invitation.id}>
                  {invitation.email} · {ROLE_NAMES[invitation.role]} · invited,
                  not yet accepted
                </li>
              ))}
            </ul>
          ) : null}
          <Form method="post" action={`${base}/invitations`}>
            <div className="field">
              <label htmlFor="invite-email">Email</label>
              <input
                id="invite-email"
                name="email"
                type="email"
                required
                autoComplete="off"
              />
            </div>
            <div className="field">
              <label htmlFor="invite-role">Role</label>
              <select id="invite-role" name="role" defaultValue="member">
                <option value="member">Member</option>
                <option value="admin">Admin</option>
              </select>
            </div>
            <button type="submit" className="button primary">
              Send invitation
            </button>
          </Form>
        </section>
      ) : null}

      {organization.personal ? (
        <p>
          This is your personal organisation. Create another one on the{" "}
          <Link to="/orgs">organisations page</Link> to bill as a team.
        </p>
      ) : (
        <Form method="post" action={`${base}/leave`}>
          <button type="submit" className="button">
            Leave {organization.name}
          </button>
        </Form>
      )}
    </main>
  );
}
