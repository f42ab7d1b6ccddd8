import { Form, Link, data, redirect, useNavigation } from "react-router";
import type { Route } from "./+types/projects";
import { PortalButton } from "~/billing/billing-actions.tsx";
import { entitlementsFrom, requireOwner, wantsJson } from "~/entitlements/middleware.server.ts";
import { createProjectFor } from "~/entitlements/project-doors.server.ts";
import { PROJECT_NAME_MAX } from "~/entitlements/project-name.ts";
import { readForm } from "~/http/form-body.ts";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";
import { services } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Projects · PortalStack" }];

// SPEC "Entitlements": the owner's projects, as many as the plan's `projects` limit (enforced in the database).
export const middleware: Route.MiddlewareFunction[] = [requireOwner()];

export async function loader({ context }: Route.LoaderArgs) {
  const { owner, entitlements, subscriptions } = entitlementsFrom(context);
  const projects = await services.projects.list(owner.organizationId);
  return {
    organizationName: owner.organizationName,
    planName: entitlements.planName,
    limit: entitlements.limits.projects,
    projects: projects.map((project) => ({ id: project.id, name: project.name })),
    // "Upgrade" is the portal's plan change for a subscriber, the pricing page otherwise.
    upgradeThrough: !owner.canManageBilling ? ("ask-owner" as const) : subscriptions.length > 0 ? ("change_plan" as const) : ("pricing" as const),
  };
}

export async function action({ request, context }: Route.ActionArgs) {
  const { owner, entitlements } = entitlementsFrom(context);
  const json = wantsJson(request);
  let name: unknown;
  if (json) {
    name = await request.json().then((body: unknown) => (body && typeof body === "object" ? (body as { name?: unknown }).name : undefined), () => undefined);
  } else {
    const form = await readForm(request);
    name = form ? (form.get("name") ?? undefined) : undefined;
  }
  const created = await createProjectFor(services.projects, owner.organizationId, entitlements, name);
  switch (created.kind) {
    case "created":
      return json ? Response.json(created.project, { status: 201 }) : redirect("/projects", 303);
    case "bad-name":
      return json ? Response.json({ error: "Invalid request body", message: created.message }, { status: 400 }) : data({ error: created.message, limitReached: false }, { status: 400 });
    case "limit-reached":
      return json
        ? Response.json({ error: "Limit reached", limit: created.limit }, { status: 403 })
        : data({ error: created.message, limitReached: true }, { status: 403 });
  }
}

export default function Projects({ loaderData, actionData }: Route.ComponentProps) {
  const { projects, limit, planName, organizationName, upgradeThrough } = loaderData;
  const navigation = useNavigation();
  const pending = navigation.state !== "idle" && navigation.formMethod === "POST";
  const error = actionData && "error" in actionData ? actionData.error : null;
  const limitReached = Boolean(actionData && "limitReached" in actionData && actionData.limitReached) || projects.length >= limit;
  const errorRef = useFocusOnFailure<HTMLParagraphElement>(Boolean(error), actionData);

  return (
    <main className="page">
      <h1>Projects</h1>
      <p className="lead">
        {organizationName} on {planName}: <span data-testid="projects-usage">{projects.length} of {limit} {limit === 1 ? "project" : "projects"}</span>
      </p>
      {error ? (
        // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
        <p role="alert" className="alert alert-error" id="project-error" tabIndex={-1} ref={errorRef} autoFocus>
          {error}
        </p>
      ) : null}
      {projects.length === 0 ? (
        <p className="muted">No projects yet.</p>
      ) : (
        <ul className="activity" data-testid="projects">
          {projects.map((project) => (
            <li key={project.id}>
              <span>{project.name}</span>
              <Form method="post" action={`/projects/${project.id}/delete`}>
                <button type="submit" className="button" aria-label={`Delete ${project.name}`}>
                  Delete
                </button>
              </Form>
            </li>
          ))}
        </ul>
      )}
      <section className="card" aria-labelledby="new-project-heading">
        <h2 id="new-project-heading">New project</h2>
        <Form method="post" className="stack">
          <label className="field">
            <span>Name</span>
            <input name="name" required maxLength={PROJECT_NAME_MAX} aria-invalid={error && !limitReached ? true : undefined} aria-describedby={error ? "project-error" : undefined} />
          </label>
          <button type="submit" className="button primary" disabled={pending}>
            {pending ? "Creating…" : "Create project"}
          </button>
        </Form>
        {limitReached ? (
          <div className="actions" data-testid="projects-upgrade">
            <p>Your plan's limit is {limit}. Upgrade for more projects.</p>
            {upgradeThrough === "ask-owner" ? (
              <p>Ask an owner or admin of your organisation to upgrade.</p>
            ) : upgradeThrough === "change_plan" ? (
              <PortalButton intent="change_plan" label="Upgrade" returnUrl="/projects" primary />
            ) : (
              <Link to="/pricing" className="button primary">
                Upgrade
              </Link>
            )}
          </div>
        ) : null}
      </section>
    </main>
  );
}
