import type { Route } from "./+types/orgs.$orgId.leave";
import { answer } from "~/orgs/org-doors.server.ts";
import { auth, orgFlash, organizations } from "~/services.server.ts";

/** `POST /orgs/<id>/leave`: anyone but the last owner, never from a personal organisation. */
export async function action({ request, params }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const result = await organizations.leave(user.id, params.orgId);
  return answer(request, result, {
    flash: orgFlash,
    page: `/orgs/${encodeURIComponent(params.orgId)}`,
    success: "You left the organisation.",
    successPage: "/orgs",
  });
}
