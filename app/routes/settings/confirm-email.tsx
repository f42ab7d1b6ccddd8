import { Form, Link, data, redirect } from "react-router";
import type { Route } from "./+types/confirm-email";
import { readForm } from "~/http/form-body.ts";
import { accountSettings } from "~/services.server.ts";

// A form rather than a change on GET: mail scanners open links, and must not confirm on the person's behalf.
export const meta: Route.MetaFunction = () => [
  { title: "Confirm your new email · PortalStack" },
  { name: "referrer", content: "no-referrer" },
];

export function loader({ request }: Route.LoaderArgs) {
  return { token: new URL(request.url).searchParams.get("token") ?? "" };
}

export async function action({ request }: Route.ActionArgs) {
  const form = await readForm(request);
  const result = await accountSettings.confirmEmail(form?.get("token"));
  if (!result.ok) return data({ error: result.error }, { status: 400 });
  return redirect("/settings?email=changed");
}

export default function ConfirmEmail({ loaderData, actionData }: Route.ComponentProps) {
  return (
    <main className="page narrow">
      <h1>Confirm your new email</h1>
      {actionData?.error ? (
        <p role="alert" className="alert alert-error">
          {actionData.error} <Link to="/settings">Back to settings</Link>
        </p>
      ) : null}
      <Form method="post">
        <input type="hidden" name="token" value={loaderData.token} />
        <button type="submit" className="button primary">
          Use this email address
        </button>
      </Form>
    </main>
  );
}
