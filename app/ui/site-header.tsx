import { Form, Link } from "react-router";

/**
 * The header on every page, including error pages: the brand, emulated mode, and who is signed in.
 * `user` is undefined where nobody asked (a 404 runs no loader): the nav then claims neither state.
 */
export function SiteHeader({ user, emulatedBilling }: { user: { email: string } | null | undefined; emulatedBilling: string | null }) {
  return (
    <header className="site-header">
      <Link to="/" className="brand">
        Portal<span>Stack</span>
      </Link>
      {/* Plans are reachable before signing up, as a new user looks for them first. */}
      <Link to="/pricing">Pricing</Link>
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
        ) : user === undefined ? (
          <Link to="/account">Your account</Link>
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
  );
}
