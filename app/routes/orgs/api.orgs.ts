import type { Route } from "./+types/api.orgs";
import { auth, organizations } from "~/services.server.ts";

/** `GET /api/orgs` (signed in): `{"current": "<id>", "orgs": [{"id", "name", "role", "members"}]}`. */
export async function loader({ request }: Route.LoaderArgs) {
  const user = await auth.getUser(request);
  if (!user)
    return Response.json(
      { error: "Unauthorized" },
      { status: 401, headers: { "Cache-Control": "no-store" } },
    );
  const list = await organizations.listFor(user.id);
  return Response.json(
    {
      current: user.organization?.id ?? null,
      orgs: list.map(({ id, name, role, members }) => ({
        id,
        name,
        role,
        members,
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}
