import type { Route } from "./+types/reports";
import { entitlementsFrom, requireFeature } from "~/entitlements/middleware.server.ts";
import { services } from "~/services.server.ts";

export const meta: Route.MetaFunction = () => [{ title: "Reports · PortalStack" }];

// SPEC "Entitlements": a Pro feature. Without it: 403 with the reason and "Upgrade" (root ErrorBoundary), JSON
// 403 {"error":"Upgrade required","feature":"reports"}.
export const middleware: Route.MiddlewareFunction[] = [requireFeature("reports")];

export async function loader({ context }: Route.LoaderArgs) {
  const { owner, entitlements } = entitlementsFrom(context);
  return {
    organizationName: owner.organizationName,
    planName: entitlements.planName,
    projects: await services.projects.count(owner.organizationId),
    limit: entitlements.limits.projects,
  };
}

export default function Reports({ loaderData }: Route.ComponentProps) {
  const { organizationName, planName, projects, limit } = loaderData;
  return (
    <main className="page">
      <h1>Reports</h1>
      <p className="lead">
        {organizationName}, on {planName}.
      </p>
      <section className="card" aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage</h2>
        <p data-testid="report-usage">
          {projects} of {limit} projects in use.
        </p>
      </section>
    </main>
  );
}
