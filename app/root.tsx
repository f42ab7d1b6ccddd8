import { Form, Link, Links, Meta, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse } from "react-router";
import type { Route } from "./+types/root";
import { auth, services } from "~/services.server.ts";
import { PROVIDER_NAMES } from "~/billing/providers/provider.ts";
import "./app.css";

export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.getUser(request);
  const { billing } = services.config;
  return {
    user: user ? { email: user.email } : null,
    emulatedBilling: billing.emulated ? PROVIDER_NAMES[billing.provider] : null,
  };
}

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App({ loaderData }: Route.ComponentProps) {
  const { user, emulatedBilling } = loaderData;
  return (
    <>
      <header className="site-header">
        <Link to="/" className="brand">
          Portal<span>Stack</span>
        </Link>
        {emulatedBilling ? (
          <span className="badge" title="Payment provider calls go to a local emulator, not the real provider.">
            Emulated billing · {emulatedBilling}
          </span>
        ) : null}
        <nav aria-label="Account">
          {user ? (
            <>
              <Link to="/account" className="signed-in-as">
                Signed in as <strong>{user.email}</strong>
              </Link>
              <Form method="post" action="/logout">
                <button type="submit" className="button link">
                  Log out
                </button>
              </Form>
            </>
          ) : (
            <>
              <Link to="/login">Log in</Link>
              <Link to="/signup" className="button primary small">
                Sign up
              </Link>
            </>
          )}
        </nav>
      </header>
      <Outlet />
    </>
  );
}

export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  return (
    <main className="page narrow">
      <h1>{notFound ? "Page not found" : "Something went wrong"}</h1>
      <p>
        {notFound
          ? "There is nothing at this address."
          : "We could not finish that request. Please try again in a moment."}
      </p>
      <p>
        <a href="/">Back to the home page</a>
      </p>
    </main>
  );
}
