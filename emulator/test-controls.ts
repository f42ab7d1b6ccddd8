import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { LifecycleError, type EmulatorLifecycle } from "./lifecycle.ts";
import { parsePortalAction } from "./portal-actions.ts";
import { secretProblem, type WebhookSecrets } from "./webhook-signing.ts";
import { isHttpUrl, jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

const MAX_COPIES = 20;
const SUBSCRIPTION_ROUTE = /^\/__emulator\/subscriptions\/([a-z]+)\/([^/]+)\/(actions|renewal|out-of-order|bad-signature)$/;
const REDELIVER_ROUTE = /^\/__emulator\/deliveries\/([^/]+)\/redeliver$/;

/**
 * The lifecycle's JSON test controls under `/__emulator/`, for Playwright and
 * for an app started against a standalone emulator. Undefined when the path
 * is not one of them (the emulator's other controls then answer).
 */
export async function lifecycleControl(request: EmulatorRequest, lifecycle: EmulatorLifecycle): Promise<EmulatorResponse | undefined> {
  const route = `${request.method} ${request.path}`;
  try {
    if (route === "POST /__emulator/webhooks") return registerWebhooks(request, lifecycle);
    if (route === "GET /__emulator/deliveries") {
      const provider = optionalProvider(request.query.get("provider"));
      const subscriptionId = request.query.get("subscription") ?? undefined;
      return jsonResponse(200, lifecycle.delivery.list({ provider, subscriptionId }));
    }
    if (route === "GET /__emulator/subscriptions") {
      return jsonResponse(200, lifecycle.summaries(optionalProvider(request.query.get("provider"))));
    }
    const redeliver = request.method === "POST" ? REDELIVER_ROUTE.exec(request.path) : null;
    if (redeliver) {
      const { copies = 1 } = jsonObject(request);
      if (!Number.isInteger(copies) || (copies as number) < 1 || (copies as number) > MAX_COPIES) {
        throw new TypeError(`"copies" must be an integer from 1 to ${MAX_COPIES}`);
      }
      const deliveries = await lifecycle.delivery.redeliver(decodeURIComponent(redeliver[1]!), copies as number);
      if (!deliveries) return jsonResponse(404, { error: "No such delivery" });
      return jsonResponse(200, { deliveries });
    }
    const subscription = request.method === "POST" ? SUBSCRIPTION_ROUTE.exec(request.path) : null;
    if (subscription) {
      const provider = optionalProvider(subscription[1]!)!;
      const id = decodeURIComponent(subscription[2]!);
      const body = jsonObject(request);
      switch (subscription[3]) {
        case "actions": {
          if (body.silent !== undefined && typeof body.silent !== "boolean") throw new TypeError(`"silent" must be a boolean`);
          const silent = body.silent === true;
          return jsonResponse(200, { outcome: await lifecycle.act(provider, id, parsePortalAction(body), { silent }) });
        }
        case "renewal": {
          if (body.outcome !== "paid" && body.outcome !== "failed") throw new TypeError(`"outcome" must be "paid" or "failed"`);
          return jsonResponse(200, { events: await lifecycle.renew(provider, id, body.outcome) });
        }
        case "out-of-order":
          return jsonResponse(200, { deliveries: await lifecycle.outOfOrder(provider, id, parsePortalAction(body)) });
        default:
          return jsonResponse(200, { deliveries: await lifecycle.badSignature(provider, id) });
      }
    }
  } catch (error) {
    if (error instanceof LifecycleError) return jsonResponse(error.status, { error: error.message });
    if (error instanceof TypeError) return jsonResponse(400, { error: error.message });
    throw error;
  }
  return undefined;
}

function registerWebhooks(request: EmulatorRequest, lifecycle: EmulatorLifecycle): EmulatorResponse {
  const { url, secrets } = jsonObject(request);
  if (typeof url !== "string" || !isHttpUrl(url)) throw new TypeError(`"url" must be an http(s) URL`);
  if (secrets !== undefined && (typeof secrets !== "object" || secrets === null || Array.isArray(secrets))) {
    throw new TypeError(`"secrets" must be an object`);
  }
  const configured: Partial<WebhookSecrets> = {};
  for (const [provider, secret] of Object.entries(secrets ?? {})) {
    if (!PROVIDER_IDS.includes(provider as ProviderId)) throw new TypeError(`"secrets" keys must be ${PROVIDER_IDS.join(", ")}`);
    if (typeof secret !== "string") throw new TypeError(`"secrets.${provider}" must be a string`);
    const problem = secretProblem(provider as ProviderId, secret);
    if (problem) throw new TypeError(problem);
    configured[provider as ProviderId] = secret;
  }
  return jsonResponse(200, { secrets: lifecycle.registerWebhooks(url, configured) });
}

function optionalProvider(value: string | null): ProviderId | undefined {
  if (value === null) return undefined;
  if (!PROVIDER_IDS.includes(value as ProviderId)) throw new TypeError(`"provider" must be one of ${PROVIDER_IDS.join(", ")}`);
  return value as ProviderId;
}

/** The JSON object body (empty body = `{}`); a TypeError otherwise. */
function jsonObject(request: EmulatorRequest): Record<string, unknown> {
  if (request.rawBody.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.rawBody);
  } catch {
    throw new TypeError("The body must be JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new TypeError("Expected a JSON object");
  return parsed as Record<string, unknown>;
}
