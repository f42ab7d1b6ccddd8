import type { Route } from "./+types/api.payments.checkout";
import { handleCheckoutRequest } from "~/services.server.ts";

// The JSON door of the checkout (`{"plan": "pro"}` → `{ url }`), for fetch-based clients.
export const action = ({ request }: Route.ActionArgs) => handleCheckoutRequest(request, "json");

export const loader = ({ request }: Route.LoaderArgs) => handleCheckoutRequest(request, "json");
