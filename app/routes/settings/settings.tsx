import { Form, data, redirect, useNavigation } from "react-router";
import type { Route } from "./+types/settings";
import { PASSWORD_MIN_LENGTH } from "~/auth/credentials.ts";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";
import { accountSettings, auth } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Settings · PortalStack" }];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.requireUser(request);
  const changed = new URL(request.url).searchParams.get("email") === "changed";
  return { email: user.email, passwordMinLength: PASSWORD_MIN_LENGTH, notice: changed ? "Your email address is changed." : null };
}

export async function action({ request }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const result = await accountSettings.act(request, user);
  if (!result.ok) return data({ intent: result.intent, error: result.error, message: null }, { status: result.status });
  if (result.redirectTo) throw redirect(result.redirectTo, { headers: result.headers });
  return data({ intent: result.intent, error: null, message: result.message });
}

function CurrentPassword({ id }: { id: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>Current password</label>
      <input id={id} name="currentPassword" type="password" autoComplete="current-password" required />
    </div>
  );
}

type Section = { intent: "password" | "email" | "delete"; title: string };

function Outcome({ section, actionData }: { section: Section; actionData: Route.ComponentProps["actionData"] }) {
  const mine = actionData?.intent === section.intent;
  const error = mine ? actionData?.error : null;
  const ref = useFocusOnFailure<HTMLParagraphElement>(Boolean(error), actionData);
  if (!mine) return null;
  if (error) {
    return (
      // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
      <p role="alert" className="alert alert-error" id={`${section.intent}-error`} tabIndex={-1} ref={ref} autoFocus>
        {error}
      </p>
    );
  }
  return <output className="alert alert-success">{actionData?.message}</output>;
}

export default function Settings({ loaderData, actionData }: Route.ComponentProps) {
  const navigation = useNavigation();
  const pending = (intent: string) => navigation.state !== "idle" && navigation.formData?.get("intent") === intent;

  return (
    <main className="page narrow">
      <h1>Settings</h1>
      {loaderData.notice ? <output className="alert alert-success">{loaderData.notice}</output> : null}
      <p>
        Signed in as <strong data-testid="settings-email">{loaderData.email}</strong>
      </p>

      <section className="card stack" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <Outcome section={{ intent: "password", title: "Change password" }} actionData={actionData} />
        <Form method="post" className="stack">
          <input type="hidden" name="intent" value="password" />
          <CurrentPassword id="password-current" />
          <div className="field">
            <label htmlFor="password-new">New password</label>
            <input id="password-new" name="newPassword" type="password" autoComplete="new-password" required aria-describedby="password-new-hint" />
            <small id="password-new-hint" className="muted">
              At least {loaderData.passwordMinLength} characters. Your other sessions will be signed out.
            </small>
          </div>
          <button type="submit" className="button primary" disabled={pending("password")}>
            {pending("password") ? "Saving…" : "Change password"}
          </button>
        </Form>
      </section>

      <section className="card stack" aria-labelledby="email-heading">
        <h2 id="email-heading">Change email</h2>
        <Outcome section={{ intent: "email", title: "Change email" }} actionData={actionData} />
        <Form method="post" className="stack">
          <input type="hidden" name="intent" value="email" />
          <div className="field">
            <label htmlFor="email-new">New email</label>
            <input id="email-new" name="newEmail" type="email" autoComplete="email" required />
          </div>
          <CurrentPassword id="email-current" />
          <button type="submit" className="button" disabled={pending("email")}>
            {pending("email") ? "Sending…" : "Send a confirmation link"}
          </button>
        </Form>
      </section>

      <section className="card stack" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete account</h2>
        <Outcome section={{ intent: "delete", title: "Delete account" }} actionData={actionData} />
        <p>This deletes your account and its data here. Cancel any subscription at the payment provider first.</p>
        <Form method="post" className="stack">
          <input type="hidden" name="intent" value="delete" />
          <CurrentPassword id="delete-current" />
          <button type="submit" className="button" disabled={pending("delete")}>
            {pending("delete") ? "Deleting…" : "Delete my account"}
          </button>
        </Form>
      </section>
    </main>
  );
}
