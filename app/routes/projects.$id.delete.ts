import { data, redirect } from "react-router";
import type { Route } from "./+types/projects.$id.delete";
import { entitlementsFrom, requireOwner } from "~/entitlements/middleware.server.ts";
import { services } from "~/services.server.ts";

// `POST /projects/<id>/delete`: the owner's own project only; any other id is 404 (another owner's project is not
// said to exist).
export const middleware: Route.MiddlewareFunction[] = [requireOwner()];

export function loader() {
  throw data("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}

export async function action({ params, context }: Route.ActionArgs) {
  const { owner } = entitlementsFrom(context);
  const removed = await services.projects.remove(owner.organizationId, params.id);
  if (!removed) throw data("Not Found", { status: 404 });
  return redirect("/projects", 303);
}
