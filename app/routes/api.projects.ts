import type { Route } from "./+types/api.projects";
import { requireOwner, entitlementsFrom } from "~/entitlements/middleware.server.ts";
import { createProjectFor } from "~/entitlements/project-doors.server.ts";
import { services } from "~/services.server.ts";

// SPEC "Entitlements": `POST /api/projects` ({"name"}) → 201 {"id","name"}; at the limit 403 {"error":"Limit reached","limit":N}.
export const middleware: Route.MiddlewareFunction[] = [requireOwner()];

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });

export function loader() {
  return json({ error: "Method Not Allowed" }, 405, { Allow: "POST" });
}

export async function action({ request, context }: Route.ActionArgs) {
  if (request.method !== "POST") return json({ error: "Method Not Allowed" }, 405, { Allow: "POST" });
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return json({ error: "Invalid request body" }, 400);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return json({ error: "Invalid request body" }, 400);
  const { owner, entitlements } = entitlementsFrom(context);
  const created = await createProjectFor(services.projects, owner.organizationId, entitlements, (body as { name?: unknown }).name);
  switch (created.kind) {
    case "created":
      return json(created.project, 201);
    case "bad-name":
      return json({ error: "Invalid request body", message: created.message }, 400);
    case "limit-reached":
      return json({ error: "Limit reached", limit: created.limit }, 403);
  }
}
