import { randomUUID } from "node:crypto";
import type { PrismaClient } from "~/db/generated/client.ts";
import { PROJECT_NAME_MAX } from "./project-name.ts";

export { PROJECT_NAME_MAX };

export type ProjectNameProblem = "empty" | "too-long" | "markup" | "not-text";

/** Words for a refused name: the page shows it, JSON carries it beside `"error"`. */
export const PROJECT_NAME_MESSAGES: Record<ProjectNameProblem, string> = {
  empty: "Give the project a name.",
  "too-long": `A project name has at most ${PROJECT_NAME_MAX} characters.`,
  markup: "A project name cannot contain < or >, or control characters.",
  "not-text": "A project name must be text.",
};

/** A project name, trimmed, or why it is refused: empty, too long, markup or control characters, lone surrogates. */
export function parseProjectName(value: unknown): { ok: true; name: string } | { ok: false; problem: ProjectNameProblem } {
  if (typeof value !== "string") return { ok: false, problem: "not-text" };
  const name = value.trim();
  if (name.length === 0) return { ok: false, problem: "empty" };
  if (name.length > PROJECT_NAME_MAX) return { ok: false, problem: "too-long" };
  // Markup and invisible controls have no place in a name; a lone surrogate cannot be stored as text.
  // oxlint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[<>\u0000-\u001f\u007f-\u009f]/.test(name) || !name.isWellFormed()) return { ok: false, problem: "markup" };
  return { ok: true, name };
}

export type CreateProjectResult = { ok: true; project: { id: string; name: string } } | { ok: false; reason: "limit-reached"; limit: number };

/**
 * The owner's projects (SPEC "Entitlements": `/projects`). The plan's limit is enforced in the database: a create
 * locks the owner's Organization row, then inserts only while the count is under the limit, in one transaction.
 * Concurrent creates for one owner queue on that lock, and each counts (in a statement that starts after the lock
 * is granted, so it sees every earlier create committed): 20 at once at a limit of 3 make exactly 3, on the
 * embedded database and on PostgreSQL alike. A downgrade deletes nothing: only new projects are refused.
 */
export function createProjects(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;
  return {
    list(ownerId: string) {
      return prisma.project.findMany({ where: { organizationId: ownerId }, select: { id: true, name: true, createdAt: true }, orderBy: { createdAt: "asc" } });
    },

    count(ownerId: string): Promise<number> {
      return prisma.project.count({ where: { organizationId: ownerId } });
    },

    async create(ownerId: string, name: string, limit: number): Promise<CreateProjectResult> {
      const id = randomUUID();
      return prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT "id" FROM "Organization" WHERE "id" = ${ownerId} FOR UPDATE`;

        const inserted = await tx.$queryRaw<{ id: string; name: string }[]>`
          INSERT INTO "Project" ("id", "name", "organizationId", "createdAt")
          SELECT ${id}, ${name}, ${ownerId}, now()
          WHERE (SELECT count(*) FROM "Project" WHERE "organizationId" = ${ownerId}) < ${limit}
          RETURNING "id", "name"`;
        const project = inserted[0];
        return project ? { ok: true as const, project } : { ok: false as const, reason: "limit-reached" as const, limit };
      });
    },

    /** Deletes the owner's project; false when the owner has no project with that id (another owner's is not theirs). */
    async remove(ownerId: string, projectId: string): Promise<boolean> {
      const { count } = await prisma.project.deleteMany({ where: { id: projectId, organizationId: ownerId } });
      return count > 0;
    },
  };
}

export type Projects = ReturnType<typeof createProjects>;
