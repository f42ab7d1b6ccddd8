import { data, redirect } from "react-router";
import { readForm } from "~/http/form-body.ts";
import type { PortalFlash } from "~/billing/portal-flash.server.ts";
import type { OrgResult } from "./organizations.server.ts";

/**
 * How the organisation doors answer (SPEC "Organisations and seats", "Doors"): a form posts and gets a 303 to the
 * page, where the message shows once; bad input is that page again with its message; not a member is a 404 and a
 * member without the role a 403, shown as an error page. A JSON client (`Accept` or `Content-Type` JSON) gets
 * `{"ok": true}` or `{"error": "..."}` with the status, `400 {"error":"Invalid request body"}` for bad input.
 */
export function wantsJson(request: Request): boolean {
  const type = request.headers
    .get("Content-Type")
    ?.split(";")[0]
    ?.trim()
    .toLowerCase();
  if (type === "application/json") return true;
  const accept = request.headers.get("Accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

/** The posted fields as plain strings (a form or a JSON object); null when the body cannot be read. */
export async function readFields(
  request: Request,
): Promise<Record<string, unknown> | null> {
  const type = request.headers
    .get("Content-Type")
    ?.split(";")[0]
    ?.trim()
    .toLowerCase();
  if (type === "application/json") {
    try {
      const value: unknown = await request.json();
      return typeof value === "object" &&
        value !== null &&
        !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
  const form = await readForm(request);
  if (!form) return null;
  const fields: Record<string, unknown> = {};
  for (const [key, value] of form)
    if (typeof value === "string" && !(key in fields)) fields[key] = value;
  return fields;
}

/** The answer to a door's outcome: `page` is where the form returns; `success` the message shown there. */
export async function answer<T>(
  request: Request,
  result: OrgResult<T>,
  options: {
    flash: PortalFlash;
    page: string;
    success: string;
    successPage?: string;
    headers?: HeadersInit;
  },
): Promise<Response> {
  const json = wantsJson(request);
  if (result.ok) {
    if (json)
      return Response.json(
        { ok: true },
        { headers: { "Cache-Control": "no-store" } },
      );
    const headers = new Headers(options.headers);
    if (options.success)
      headers.append("Set-Cookie", await options.flash.set(options.success));
    return redirect(options.successPage ?? options.page, {
      status: 303,
      headers,
    });
  }
  if (json) {
    const error =
      result.status === 400
        ? "Invalid request body"
        : result.status === 404
          ? "Not Found"
          : result.status === 403
            ? "Forbidden"
            : result.message;
    return Response.json(
      { error, message: result.message },
      { status: result.status, headers: { "Cache-Control": "no-store" } },
    );
  }
  // Not a member, or not allowed: an error page with the status (nothing reveals more).
  if (result.status === 404 || result.status === 403)
    throw data(result.message, { status: result.status });
  return redirect(options.page, {
    status: 303,
    headers: { "Set-Cookie": await options.flash.set(result.message) },
  });
}

/** A body that is not a form or JSON object: JSON 400, or the page again with the message. */
export async function unreadable(
  request: Request,
  flash: PortalFlash,
  page: string,
): Promise<Response> {
  if (wantsJson(request))
    return Response.json(
      { error: "Invalid request body" },
      { status: 400, headers: { "Cache-Control": "no-store" } },
    );
  return redirect(page, {
    status: 303,
    headers: {
      "Set-Cookie": await flash.set(
        "We could not read that form. Please try again.",
      ),
    },
  });
}
