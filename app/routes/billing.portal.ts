import type { Route } from "./+types/billing.portal";
import { handlePortalRequest } from "~/services.server.ts";

// The account page's "Manage billing" form posts here; JSON clients get the SPEC's JSON answers.
export const action = ({ request }: Route.ActionArgs) => handlePortalRequest(request, "form-or-json");

// Any other method: 405 with `Allow: POST`.
export const loader = ({ request }: Route.LoaderArgs) => handlePortalRequest(request, "form-or-json");
