import type { Route } from "./+types/orgs.$orgId.invitations";
import { answer, readFields, unreadable } from "~/orgs/org-doors.server.ts";
import {
  auth,
  invitationLinkFlash,
  orgFlash,
  organizations,
} from "~/services.server.ts";

/** `POST /orgs/<id>/invitations` (`email`, `role`: admin or member): mailed, and the link shown once to copy. */
export async function action({ request, params }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const page = `/orgs/${encodeURIComponent(params.orgId)}`;
  const fields = await readFields(request);
  if (!fields) return unreadable(request, orgFlash, page);
  const result = await organizations.invite(user.id, params.orgId, {
    email: fields.email,
    role: fields.role,
  });
  const headers = result.ok
    ? { "Set-Cookie": await invitationLinkFlash.set(result.value.url) }
    : undefined;
  return answer(request, result, {
    flash: orgFlash,
    page,
    success: result.ok ? `Invitation sent to ${result.value.email}.` : "",
    headers,
  });
}
