import type { Route } from "./+types/orgs.switch";
import { safeRedirectPath } from "~/http/safe-url.ts";
import { answer, readFields, unreadable } from "~/orgs/org-doors.server.ts";
import { auth, orgFlash, organizations } from "~/services.server.ts";

/** `POST /orgs/switch` (`orgId`, one of the user's own, else 404; optional `redirectTo`, a path on this app). */
export async function action({ request }: Route.ActionArgs) {
  const user = await auth.requireUser(request);
  const fields = await readFields(request);
  if (!fields) return unreadable(request, orgFlash, "/account");
  const result = await organizations.switchTo(
    user.id,
    user.sessionId,
    fields.orgId,
  );
  const back = safeRedirectPath(
    typeof fields.redirectTo === "string" ? fields.redirectTo : null,
    "/account",
  );
  return answer(request, result, { flash: orgFlash, page: back, success: "" });
}
