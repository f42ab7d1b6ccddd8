// Liveness: the process runs and answers. No session, no database (that is /readyz).
export function loader() {
  return Response.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
