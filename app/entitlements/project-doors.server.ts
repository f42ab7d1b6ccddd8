import type { Entitlements } from "./entitlements.ts";
import { PROJECT_NAME_MESSAGES, parseProjectName, type Projects } from "./projects.server.ts";

/** What creating a project through either door came to (the form and the JSON door shape it). */
export type ProjectCreation =
  | { kind: "created"; project: { id: string; name: string } }
  | { kind: "bad-name"; message: string }
  | { kind: "limit-reached"; limit: number; message: string };

/** Parse the name, then create within the owner's plan limit (atomically, in the database). */
export async function createProjectFor(projects: Projects, ownerId: string, entitlements: Entitlements, name: unknown): Promise<ProjectCreation> {
  const parsed = parseProjectName(name);
  if (!parsed.ok) return { kind: "bad-name", message: PROJECT_NAME_MESSAGES[parsed.problem] };
  const limit = entitlements.limits.projects;
  const result = await projects.create(ownerId, parsed.name, limit);
  if (result.ok) return { kind: "created", project: result.project };
  return {
    kind: "limit-reached",
    limit,
    message: `Your plan (${entitlements.planName}) allows ${limit} ${limit === 1 ? "project" : "projects"}. Upgrade to add more.`,
  };
}
