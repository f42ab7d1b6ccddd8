import { checkReadiness } from "~/http/readiness.server.ts";
import { isDraining } from "~/http/server-runtime.server.ts";
import { services } from "~/services.server.ts";

// Readiness for load balancers: 503 while the database is unreachable or behind on migrations, and while shutting down.
export async function loader() {
  const status = isDraining() ? "draining" : (await checkReadiness(services.database.prisma)) ? "ready" : "unavailable";
  return Response.json({ status }, { status: status === "ready" ? 200 : 503, headers: { "Cache-Control": "no-store" } });
}
