import { Form, Link, data, redirect, useNavigation } from "react-router";
import type { Route } from "./+types/signup";
import { refusalInit, withRetryAfter } from "~/auth/auth.server.ts";
import { PASSWORD_MIN_LENGTH } from "~/auth/credentials.ts";
import { requestInfoContext } from "~/http/request-info.ts";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";
import { auth } from "~/services.server.ts";
import { chosenPlan, pricingWith } from "~/billing/chosen-plan.ts";
import { readForm } from "~/http/form-body.ts";

export const meta: Route.MetaFunction = () => [{ title: "Create an account · PortalStack" }];

// A refused attempt's Retry-After reaches the browser (React Router passes on only cookies by default).
export const headers: Route.HeadersFunction = withRetryAfter;

export async function loader({ request }: Route.LoaderArgs) {
  await auth.requireAnonymous(request);
  // The rule comes from the server's schema, so zod stays out of the browser bundle.
  return { passwordMinLength: PASSWORD_MIN_LENGTH, chosenPlan: chosenPlan(new URL(request.url).searchParams.get("plan")) };
}

export async function action({ request, context }: Route.ActionArgs) {
  // The plan chosen on the pricing page, if any (a catalogue id, else nothing): the new account goes back there.
  const form = await readForm(request.clone());
  const plan = chosenPlan(form?.get("plan"));
  const result = await auth.signup(request, context.get(requestInfoContext).clientAddress);
  if (!result.ok) {
    const refusal = "refusal" in result ? result.refusal : undefined;
    return data({ fieldErrors: result.fieldErrors, email: result.email, error: result.error }, refusalInit(refusal, 400));
  }
  return redirect(plan ? pricingWith(plan) : "/account", { headers: result.headers });
}

export default function Signup({ loaderData, actionData }: Route.ComponentProps) {
  const navigation = useNavigation();
  const pending = navigation.state !== "idle" && navigation.formMethod === "POST";
  const emailError = actionData?.fieldErrors.email?.[0];
  const passwordError = actionData?.fieldErrors.password?.[0];
  const formError = actionData?.error;
  // Focus goes to what failed: the form's message, else the first field in error (which its message describes).
  const formErrorRef = useFocusOnFailure<HTMLParagraphElement>(Boolean(formError), actionData);
  const emailRef = useFocusOnFailure<HTMLInputElement>(!formError && Boolean(emailError), actionData);
  const passwordRef = useFocusOnFailure<HTMLInputElement>(!formError && !emailError && Boolean(passwordError), actionData);

  return (
    <main className="page narrow">
      <h1>Create an account</h1>
      {formError ? (
        // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
        <p role="alert" className="alert alert-error" tabIndex={-1} ref={formErrorRef} autoFocus>
          {formError}
        </p>
      ) : null}
      <Form method="post" className="stack">
        {loaderData.chosenPlan ? <input type="hidden" name="plan" value={loaderData.chosenPlan} /> : null}
        {/* A div, not a wrapping label: the error and hint stay out of the field's accessible name. */}
        <div className="field">
          <label htmlFor="signup-email">Email</label>
          <input
            id="signup-email"
            name="email"
            type="email"
            autoComplete="email"
            required
            defaultValue={actionData?.email}
            ref={emailRef}
            // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the field in error
            autoFocus={!formError && Boolean(emailError)}
            aria-invalid={emailError ? true : undefined}
            aria-describedby={emailError ? "signup-email-error" : undefined}
          />
          {emailError ? (
            <p className="field-error" id="signup-email-error">
              {emailError}
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor="signup-password">Password</label>
          <input
            id="signup-password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            ref={passwordRef}
            // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the field in error
            autoFocus={!formError && !emailError && Boolean(passwordError)}
            aria-invalid={passwordError ? true : undefined}
            aria-describedby={passwordError ? "signup-password-error" : "signup-password-hint"}
          />
          {passwordError ? (
            <p className="field-error" id="signup-password-error">
              {passwordError}
            </p>
          ) : (
            <small id="signup-password-hint" className="muted">
              At least {loaderData.passwordMinLength} characters.
            </small>
          )}
        </div>
        <button type="submit" className="button primary" disabled={pending}>
          {pending ? "Creating your account…" : "Create account"}
        </button>
      </Form>
      <p>
        Already have an account?{" "}
        <Link to={loaderData.chosenPlan ? `/login?redirectTo=${encodeURIComponent(pricingWith(loaderData.chosenPlan))}` : "/login"}>Log in</Link>
      </p>
    </main>
  );
}
