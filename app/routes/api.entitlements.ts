import type { Route } from "./+types/api.entitlements";
import { entitlementsFrom, requireOwner } from "~/entitlements/middleware.server.ts";
import { services } from "~/services.server.ts";

// SPEC "Entitlements": `GET /api/entitlements` (signed in) → what the current organisation's plan gives now; 401 signed out.
export const middleware: Route.MiddlewareFunction[] = [requireOwner()];

export async function loader({ context }: Route.LoaderArgs) {
  const { owner, entitlements } = entitlementsFrom(context);
  return Response.json(
    {
      owner: owner.organizationId,
      plan: entitlements.plan,
      status: entitlements.status,
      features: entitlements.features,
      limits: entitlements.limits,
      usage: { projects: await services.projects.count(owner.organizationId) },
      graceUntil: entitlements.graceUntil?.toISOString() ?? null,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}
