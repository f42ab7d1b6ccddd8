import { redirect } from "react-router";
import type { Route } from "./+types/logout";
import { auth } from "~/services.server.ts";

/** Logging out changes state, so only a POST does it; a visit to /logout just goes home. */
export async function loader() {
  return redirect("/");
}

export async function action({ request }: Route.ActionArgs) {
  const { headers } = await auth.logout(request);
  return redirect("/", { headers });
}
