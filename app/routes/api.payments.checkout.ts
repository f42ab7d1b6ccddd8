import type { Route } from "./+types/api.payments.checkout";
import { handleCheckoutRequest } from "~/services.server.ts";

// The JSON door of the checkout (`{"plan": "pro"}` → `{ url }`), for fetch-based clients.
export const action = ({ request, context }: Route.ActionArgs) => handleCheckoutRequest(request, "json", context);

// No loader: the server entry answers every other method with 405 and `Allow: POST` (POST-only route).
