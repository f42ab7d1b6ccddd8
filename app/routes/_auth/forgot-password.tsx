import { Form, Link, data, useNavigation } from "react-router";
import type { Route } from "./+types/forgot-password";
import { refusalInit, withRetryAfter } from "~/auth/auth.server.ts";
import { requestInfoContext } from "~/http/request-info.ts";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";
import { passwordReset } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Forgot your password? · PortalStack" }];

export const headers: Route.HeadersFunction = withRetryAfter;

export async function action({ request, context }: Route.ActionArgs) {
  const result = await passwordReset.request(request, context.get(requestInfoContext).clientAddress);
  if (!result.ok) return data({ error: result.error, email: result.email, sent: null }, refusalInit(result.refusal, 400));
  return data({ error: null, email: "", sent: result.message });
}

export default function ForgotPassword({ actionData }: Route.ComponentProps) {
  const navigation = useNavigation();
  const pending = navigation.state !== "idle" && navigation.formMethod === "POST";
  const error = actionData?.error;
  const errorRef = useFocusOnFailure<HTMLParagraphElement>(Boolean(error), actionData);

  return (
    <main className="page narrow">
      <h1>Forgot your password?</h1>
      {actionData?.sent ? (
        <output className="alert alert-success">{actionData.sent}</output>
      ) : null}
      {error ? (
        // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
        <p role="alert" className="alert alert-error" id="forgot-error" tabIndex={-1} ref={errorRef} autoFocus>
          {error}
        </p>
      ) : null}
      <p>Enter the email of your account: we will mail it a link to choose a new password.</p>
      <Form method="post" className="stack">
        <label className="field">
          <span>Email</span>
          <input
            name="email"
            type="email"
            autoComplete="email"
            required
            defaultValue={actionData?.email}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "forgot-error" : undefined}
          />
        </label>
        <button type="submit" className="button primary" disabled={pending}>
          {pending ? "Sending…" : "Send the reset link"}
        </button>
      </Form>
      <p>
        Remembered it? <Link to="/login">Log in</Link>
      </p>
    </main>
  );
}
