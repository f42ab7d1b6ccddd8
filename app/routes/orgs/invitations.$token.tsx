import { Form, data, redirect } from "react-router";
import type { Route } from "./+types/invitations.$token";
import { INVITATION_MESSAGES } from "~/orgs/organization-words.ts";
import { auth, orgFlash, organizations } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [
  { title: "Invitation · PortalStack" },
];

/** Shows the invitation to the signed-in account (a visitor signs in first and comes back here). */
export async function loader({ request, params }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const lookup = await organizations.lookUpInvitation(params.token, user);
  const status =
    lookup.status === "usable"
      ? 200
      : lookup.status === "other-account"
        ? 403
        : lookup.status === "unknown"
          ? 404
          : 410;
  return data(
    { lookup, email: user.email },
    {
      status,
      headers: {
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
      },
    },
  );
}

/** Accepts: the organisation becomes the current one, and its page opens. */
export async function action({ request, params }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const result = await organizations.accept(params.token, user, user.sessionId);
  if (!result.ok)
    return data({ error: result.message }, { status: result.status });
  throw redirect(`/orgs/${result.value.organizationId}`, {
    status: 303,
    headers: {
      "Set-Cookie": await orgFlash.set("Welcome! You joined the organisation."),
    },
  });
}

export default function Invitation({
  loaderData,
  actionData,
}: Route.ComponentProps) {
  const { lookup, email } = loaderData;
  const error =
    actionData?.error ??
    (lookup.status === "usable" ? null : INVITATION_MESSAGES[lookup.status]);
  return (
    <main className="page narrow">
      <h1>Invitation</h1>
      {error ? (
        <p role="alert" className="alert alert-error">
          {error}
        </p>
      ) : null}
      {lookup.status === "usable" && !actionData?.error ? (
        <>
          <p>
            You are invited to <strong>{lookup.organization}</strong> as{" "}
            {lookup.role}, as {email}.
          </p>
          <Form method="post">
            <button type="submit" className="button primary">
              Accept and join {lookup.organization}
            </button>
          </Form>
        </>
      ) : null}
    </main>
  );
}
