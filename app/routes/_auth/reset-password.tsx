import { Form, Link, data, redirect, useNavigation } from "react-router";
import type { Route } from "./+types/reset-password";
import { PASSWORD_MIN_LENGTH } from "~/auth/credentials.ts";
import { INVALID_RESET_LINK_MESSAGE } from "~/auth/password-reset.server.ts";
import { refusalInit, withRetryAfter } from "~/auth/auth.server.ts";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";
import { passwordReset } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [
  { title: "Choose a new password · PortalStack" },
  // The token is in this page's URL: no other site gets it as a referrer.
  { name: "referrer", content: "no-referrer" },
];

export const headers: Route.HeadersFunction = withRetryAfter;

export async function loader({ request }: Route.LoaderArgs) {
  const token = new URL(request.url).searchParams.get("token");
  if (!(await passwordReset.isUsable(token))) return data({ token: null, error: INVALID_RESET_LINK_MESSAGE, passwordMinLength: PASSWORD_MIN_LENGTH }, { status: 400 });
  return { token, error: null, passwordMinLength: PASSWORD_MIN_LENGTH };
}

export async function action({ request }: Route.ActionArgs) {
  const result = await passwordReset.reset(request);
  if (result.ok) return redirect("/account", { headers: result.headers });
  return data({ error: result.error, tokenValid: result.tokenValid }, refusalInit(result.refusal, 400));
}

export default function ResetPassword({ loaderData, actionData }: Route.ComponentProps) {
  const navigation = useNavigation();
  const pending = navigation.state !== "idle" && navigation.formMethod === "POST";
  const error = actionData?.error ?? loaderData.error;
  const showForm = loaderData.token && actionData?.tokenValid !== false;
  const errorRef = useFocusOnFailure<HTMLParagraphElement>(Boolean(error), actionData ?? loaderData);

  return (
    <main className="page narrow">
      <h1>Choose a new password</h1>
      {error ? (
        // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
        <p role="alert" className="alert alert-error" id="reset-error" tabIndex={-1} ref={errorRef} autoFocus>
          {error}
        </p>
      ) : null}
      {showForm ? (
        <Form method="post" className="stack">
          <input type="hidden" name="token" value={loaderData.token ?? ""} />
          <div className="field">
            <label htmlFor="reset-password">New password</label>
            <input
              id="reset-password"
              name="password"
              type="password"
              autoComplete="new-password"
              required
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "reset-error" : "reset-password-hint"}
            />
            <small id="reset-password-hint" className="muted">
              At least {loaderData.passwordMinLength} characters. Every other session of your account will be signed out.
            </small>
          </div>
          <button type="submit" className="button primary" disabled={pending}>
            {pending ? "Saving…" : "Save and sign in"}
          </button>
        </Form>
      ) : (
        <p>
          <Link to="/forgot-password">Ask for a new reset link</Link>
        </p>
      )}
    </main>
  );
}
