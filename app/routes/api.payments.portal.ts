import type { Route } from "./+types/api.payments.portal";
import { handlePortalRequest } from "~/services.server.ts";

// The seed's JSON contract (`POST /api/payments/portal` → `{ url }`), for fetch-based clients.
export const action = ({ request, context }: Route.ActionArgs) => handlePortalRequest(request, "json", context);

// No loader: the server entry answers every other method with 405 and `Allow: POST` (POST-only route).
