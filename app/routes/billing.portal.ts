import type { Route } from "./+types/billing.portal";
import { handlePortalRequest } from "~/services.server.ts";

// The account page's "Manage billing" form posts here; JSON clients get the SPEC's JSON answers.
export const action = ({ request, context }: Route.ActionArgs) => handlePortalRequest(request, "form-or-json", context);

// No loader: the server entry answers every other method with 405 and `Allow: POST` (POST-only route).
