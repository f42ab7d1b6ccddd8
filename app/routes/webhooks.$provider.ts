import type { Route } from "./+types/webhooks.$provider";
import { handleWebhook } from "~/services.server.ts";

// POST /webhooks/stripe|polar|lemonsqueezy: a provider's signed event (app/billing/webhooks.server.ts).
export const action = ({ request, params }: Route.ActionArgs) => handleWebhook(params.provider, request);

// Any other method: 405 with `Allow: POST`.
export const loader = ({ request, params }: Route.LoaderArgs) => handleWebhook(params.provider, request);
