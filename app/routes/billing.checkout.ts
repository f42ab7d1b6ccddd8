import type { Route } from "./+types/billing.checkout";
import { handleCheckoutRequest } from "~/services.server.ts";

// The pricing page's plan forms post here; JSON clients get the SPEC's JSON answers.
export const action = ({ request }: Route.ActionArgs) => handleCheckoutRequest(request, "form-or-json");

// Any other method: 405 with `Allow: POST`.
export const loader = ({ request }: Route.LoaderArgs) => handleCheckoutRequest(request, "form-or-json");
