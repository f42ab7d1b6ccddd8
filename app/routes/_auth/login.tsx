import { Form, Link, data, redirect, useNavigation } from "react-router";
import type { Route } from "./+types/login";
import { INVALID_CREDENTIALS_MESSAGE, refusalInit, withRetryAfter } from "~/auth/auth.server.ts";
import { readForm } from "~/http/form-body.ts";
import { safeRedirectPath } from "~/http/safe-url.ts";
import { chosenPlanOf } from "~/billing/chosen-plan.ts";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";
import { requestInfoContext } from "~/http/request-info.ts";
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { auth, services } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Log in · PortalStack" }];

// A refused attempt's Retry-After reaches the browser (React Router passes on only cookies by default).
export const headers: Route.HeadersFunction = withRetryAfter;

export async function loader({ request }: Route.LoaderArgs) {
  await auth.requireAnonymous(request);
  const redirectTo = safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"), "");
  return {
    redirectTo,
    // "Create an account" keeps the plan chosen on the pricing page.
    chosenPlan: chosenPlanOf(redirectTo),
    // Only where the demo users exist: development, emulated demos, or SEED_DEMO_DATA=1.
    demoEmails: services.config.seedDemoData ? DEMO_ACCOUNTS.map((account) => account.email) : null,
  };
}

export async function action({ request, context }: Route.ActionArgs) {
  // FormStrategy reads the body itself; the route reads a copy for `redirectTo`.
  const form = await readForm(request.clone());
  if (!form) return data({ error: INVALID_CREDENTIALS_MESSAGE, email: "" }, { status: 400 });
  const redirectTo = safeRedirectPath(form.get("redirectTo"));
  const result = await auth.login(request, context.get(requestInfoContext).clientAddress);
  if (!result.ok) {
    const refusal = "refusal" in result ? result.refusal : undefined;
    return data({ error: result.error, email: result.email }, refusalInit(refusal, 400));
  }
  return redirect(redirectTo, { headers: result.headers });
}

export default function Login({ loaderData, actionData }: Route.ComponentProps) {
  const navigation = useNavigation();
  const pending = navigation.state !== "idle" && navigation.formMethod === "POST";
  const error = actionData?.error;
  const errorRef = useFocusOnFailure<HTMLParagraphElement>(Boolean(error), actionData);

  return (
    <main className="page narrow">
      <h1>Log in</h1>
      {error ? (
        // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
        <p role="alert" className="alert alert-error" id="login-error" tabIndex={-1} ref={errorRef} autoFocus>
          {error}
        </p>
      ) : null}
      <Form method="post" className="stack">
        {loaderData.redirectTo ? <input type="hidden" name="redirectTo" value={loaderData.redirectTo} /> : null}
        <label className="field">
          <span>Email</span>
          <input
            name="email"
            type="email"
            autoComplete="email"
            required
            defaultValue={actionData?.email}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "login-error" : undefined}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "login-error" : undefined}
          />
        </label>
        <button type="submit" className="button primary" disabled={pending}>
          {pending ? "Logging in…" : "Log in"}
        </button>
      </Form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to={loaderData.chosenPlan ? `/signup?plan=${loaderData.chosenPlan}` : "/signup"}>Create an account</Link>
      </p>
      {loaderData.demoEmails ? (
        <aside className="card" aria-labelledby="demo-heading">
          <h2 id="demo-heading">Demo accounts</h2>
          <p className="muted">
            Password for all: <code>{DEMO_PASSWORD}</code>
          </p>
          <ul>
            {loaderData.demoEmails.map((email) => (
              <li key={email}>
                <code>{email}</code>
              </li>
            ))}
          </ul>
        </aside>
      ) : null}
    </main>
  );
}
