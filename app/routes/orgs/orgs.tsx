import { Form, Link, data } from "react-router";
import type { Route } from "./+types/orgs";
import { FlashMessage } from "~/billing/flash-message.tsx";
import { ORGANIZATION_NAME_MAX } from "~/orgs/organization-words.ts";
import { answer, readFields, unreadable } from "~/orgs/org-doors.server.ts";
import { auth, orgFlash, organizations } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [
  { title: "Organisations · PortalStack" },
];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const { message, headers } = await orgFlash.take(request);
  const list = await organizations.listFor(user.id);
  return data(
    { organizations: list, current: user.organization?.id ?? null, message },
    { headers },
  );
}

/** `POST /orgs` (`name`): a new organisation, owned by the user, made the current one. */
export async function action({ request }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const fields = await readFields(request);
  if (!fields) return unreadable(request, orgFlash, "/orgs");
  const result = await organizations.create(user.id, user.sessionId, {
    name: fields.name,
  });
  return answer(request, result, {
    flash: orgFlash,
    page: "/orgs",
    success: "Your organisation is created. Invite your colleagues below.",
    successPage: result.ok ? `/orgs/${result.value.id}` : "/orgs",
  });
}

export default function Organisations({ loaderData }: Route.ComponentProps) {
  const { organizations: list, current, message } = loaderData;
  return (
    <main className="page narrow">
      <h1>Organisations</h1>
      <FlashMessage message={message} />
      <ul className="org-list">
        {list.map((organization) => (
          <li key={organization.id}>
            <Link to={`/orgs/${organization.id}`}>{organization.name}</Link> ·{" "}
            {organization.role} · {organization.members}{" "}
            {organization.members === 1 ? "member" : "members"}
            {organization.id === current ? " (current)" : ""}
          </li>
        ))}
      </ul>
      <section className="card" aria-labelledby="new-org-heading">
        <h2 id="new-org-heading">New organisation</h2>
        <Form method="post" action="/orgs">
          <div className="field">
            <label htmlFor="org-name">Name</label>
            <input
              id="org-name"
              name="name"
              required
              maxLength={ORGANIZATION_NAME_MAX}
              autoComplete="organization"
            />
          </div>
          <button type="submit" className="button primary">
            Create organisation
          </button>
        </Form>
      </section>
    </main>
  );
}
