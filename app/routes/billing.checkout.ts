import type { Route } from "./+types/billing.checkout";
import { handleCheckoutRequest } from "~/services.server.ts";

// The pricing page's plan forms post here; JSON clients get the SPEC's JSON answers.
export const action = ({ request, context }: Route.ActionArgs) => handleCheckoutRequest(request, "form-or-json", context);

// No loader: the server entry answers every other method with 405 and `Allow: POST` (POST-only route).
