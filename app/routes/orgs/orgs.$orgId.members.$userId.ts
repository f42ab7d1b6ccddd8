import type { Route } from "./+types/orgs.$orgId.members.$userId";
import { answer, readFields, unreadable } from "~/orgs/org-doors.server.ts";
import { auth, orgFlash, organizations } from "~/services.server.ts";

/** `POST /orgs/<id>/members/<userId>`: `role` changes the member's role; `intent=remove` removes them. */
export async function action({ request, params }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const page = `/orgs/${encodeURIComponent(params.orgId)}`;
  const fields = await readFields(request);
  if (!fields) return unreadable(request, orgFlash, page);
  if (fields.intent === "remove") {
    const removed = await organizations.remove(
      user.id,
      params.orgId,
      params.userId,
    );
    // Removing oneself is leaving: the page is gone for them afterwards.
    return answer(request, removed, {
      flash: orgFlash,
      page,
      success: "The member is removed.",
      successPage: params.userId === user.id ? "/orgs" : page,
    });
  }
  const changed = await organizations.changeRole(
    user.id,
    params.orgId,
    params.userId,
    { role: fields.role },
  );
  return answer(request, changed, {
    flash: orgFlash,
    page,
    success: "The role is changed.",
  });
}
