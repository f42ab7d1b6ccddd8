import { Form, Link } from "react-router";

/**
 * The header on every page, including error pages: the brand, emulated mode, and who is signed in.
 * `user` is undefined where nobody asked (a 404 runs no loader): the nav then claims neither state.
 */
type HeaderOrganizations = {
  current: string | null;
  list: { id: string; name: string; personal: boolean }[];
} | null;

export function SiteHeader({
  user,
  emulatedBilling,
  organizations,
}: {
  user: { email: string } | null | undefined;
  emulatedBilling: string | null;
  organizations?: HeaderOrganizations;
}) {
  return (
    <header className="site-header">
      <Link to="/" className="brand">
        Portal<span>Stack</span>
      </Link>
      {/* Plans are reachable before signing up, as a new user looks for them first. */}
      <Link to="/pricing">Pricing</Link>
      {emulatedBilling ? (
        <span
          className="badge"
          title="Payment provider calls go to a local emulator, not the real provider."
        >
          Emulated billing · {emulatedBilling}
        </span>
      ) : null}
      <nav aria-label="Account">
        {user ? (
          <>
            {organizations ? (
              <OrganizationSwitcher organizations={organizations} />
            ) : null}
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

/** How the switcher names an organisation: the user's personal one is marked. */
const name = (organization: { name: string; personal: boolean }) =>
  organization.personal ? `${organization.name} (you)` : organization.name;

/**
 * The current organisation and a switch between the user's organisations: a plain form (a select and a button),
 * so it works without JavaScript and with the keyboard; `POST /orgs/switch` answers with a 303 back to the account page.
 */
function OrganizationSwitcher({
  organizations,
}: {
  organizations: NonNullable<HeaderOrganizations>;
}) {
  const { current, list } = organizations;
  return (
    <span className="org-switcher">
      {list.length > 1 ? (
        <Form method="post" action="/orgs/switch" className="org-switch-form">
          <label htmlFor="org-switch">Organisation</label>
          <select
            id="org-switch"
            name="orgId"
            defaultValue={current ?? undefined}
            key={current}
          >
            {list.map((organization) => (
              <option key={organization.id} value={organization.id}>
                {name(organization)}
              </option>
            ))}
          </select>
          <button type="submit" className="button small">
            Switch
          </button>
        </Form>
      ) : null}
      <Link to={current ? `/orgs/${current}` : "/orgs"}>Members</Link>
      <Link to="/orgs">Organisations</Link>
    </span>
  );
}
