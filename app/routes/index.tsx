import { Link } from "react-router";
import type { Route } from "./+types/index";
import { auth } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "PortalStack" }];

export async function loader({ request }: Route.LoaderArgs) {
  return { signedIn: Boolean(await auth.getUser(request)) };
}

export default function Index({ loaderData }: Route.ComponentProps) {
  return (
    <main className="page">
      <h1>Your subscription, one click away</h1>
      <p className="lead">
        Manage your plan, update your card, download invoices or cancel, in your payment provider's secure
        customer portal.
      </p>
      <p>
        {loaderData.signedIn ? (
          <Link to="/account" className="button primary">
            Go to your account
          </Link>
        ) : (
          <>
            <Link to="/login" className="button primary">
              Log in
            </Link>{" "}
            <Link to="/signup" className="button">
              Create an account
            </Link>
          </>
        )}
      </p>
    </main>
  );
}
