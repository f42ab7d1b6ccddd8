import { setTimeout as sleep } from "node:timers/promises";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { generateWebhookSecrets, signedHeaders, type WebhookSecrets } from "./webhook-signing.ts";

/** One webhook event as the provider would send it: the body is fixed once built, so a redelivery is byte-identical. */
export type OutgoingEvent = {
  provider: ProviderId;
  /** Stripe `evt_…`, Polar's `webhook-id`, an emulator id for Lemon Squeezy (which sends none). */
  id: string;
  type: string;
  body: string;
  /** The subscription it is about, so tests can find it. */
  subscriptionId: string | null;
};

export type DeliveryAttempt = { at: string; status?: number; error?: string };

export type DeliveryRecord = {
  id: string;
  provider: ProviderId;
  eventId: string;
  type: string;
  subscriptionId: string | null;
  url: string | null;
  /** "invalid" when the emulator signed it with a wrong secret on purpose. */
  signature: "valid" | "invalid";
  /** "no-endpoint": nothing was registered, so nothing was sent (as at a provider with no endpoint). */
  state: "pending" | "delivered" | "failed" | "no-endpoint";
  attempts: DeliveryAttempt[];
  body: string;
};

export type WebhookDeliveryOptions = {
  /** Waits before each retry after a non-2xx answer or a network error; providers use minutes, emulation uses fractions of a second. */
  retryDelaysMs?: readonly number[];
  /** How long one attempt may take before it counts as failed. */
  attemptTimeoutMs?: number;
};

const DEFAULT_RETRY_DELAYS_MS = [200, 500, 1000];
const DEFAULT_ATTEMPT_TIMEOUT_MS = 5000;
/** Oldest delivery records are dropped beyond this. */
const MAX_RECORDS = 2000;

/**
 * Sends signed webhook events to the app's registered endpoint and retries
 * failed ones in the background, like the providers do; keeps a log of every
 * delivery and each attempt's answer for tests.
 */
export class WebhookDelivery {
  readonly #ownSecrets = generateWebhookSecrets();
  #secrets: WebhookSecrets = { ...this.#ownSecrets };
  #target: string | null = null;
  #records: DeliveryRecord[] = [];
  #sequence = 0;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #closing = new AbortController();
  readonly #retryDelaysMs: readonly number[];
  readonly #attemptTimeoutMs: number;

  constructor(options: WebhookDeliveryOptions = {}) {
    this.#retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  }

  /** Points deliveries at `<baseUrl>/<provider>` (the latest registration wins); answers the secrets in force. */
  register(baseUrl: string, configured: Partial<WebhookSecrets> = {}): WebhookSecrets {
    this.#target = baseUrl.replace(/\/+$/, "");
    this.#secrets = { ...this.#ownSecrets };
    for (const provider of PROVIDER_IDS) {
      const secret = configured[provider];
      if (secret !== undefined) this.#secrets[provider] = secret;
    }
    return { ...this.#secrets };
  }

  get secrets(): WebhookSecrets {
    return { ...this.#secrets };
  }

  /** Resolves once the first attempt has been answered; retries go on in the background. */
  async send(event: OutgoingEvent, options: { badSignature?: boolean } = {}): Promise<DeliveryRecord> {
    const record: DeliveryRecord = {
      id: `dlv_${++this.#sequence}`,
      provider: event.provider,
      eventId: event.id,
      type: event.type,
      subscriptionId: event.subscriptionId,
      url: this.#target === null ? null : `${this.#target}/${event.provider}`,
      signature: options.badSignature ? "invalid" : "valid",
      state: this.#target === null ? "no-endpoint" : "pending",
      attempts: [],
      body: event.body,
    };
    this.#records.push(record);
    if (this.#records.length > MAX_RECORDS) this.#records.shift();
    if (record.url === null) return record;

    // A wrong key of the right shape: the body and headers look real, only the signature cannot verify.
    const secret = options.badSignature ? generateWebhookSecrets()[event.provider] : this.#secrets[event.provider];
    const firstAttempt = this.#attempt(record, secret);
    this.#track(firstAttempt.then((ok) => (ok ? undefined : this.#retry(record, secret))));
    await firstAttempt;
    return record;
  }

  /**
   * Sends events one after another (each one's first attempt answered before
   * the next goes), waiting at most `waitMs` in all: the rest carry on in the
   * background so a slow app never holds the caller.
   */
  async sendInOrder(events: readonly OutgoingEvent[], waitMs: number): Promise<void> {
    const chain = (async () => {
      for (const event of events) await this.send(event);
    })();
    this.#track(chain);
    await Promise.race([chain, sleep(waitMs, undefined, { signal: this.#closing.signal }).catch(() => undefined)]);
  }

  /** Sends an earlier delivery's event again, `copies` times at once: same event id, same body, fresh signature. */
  async redeliver(deliveryId: string, copies = 1): Promise<DeliveryRecord[] | undefined> {
    const original = this.#records.find((record) => record.id === deliveryId);
    if (!original) return undefined;
    const event: OutgoingEvent = {
      provider: original.provider,
      id: original.eventId,
      type: original.type,
      body: original.body,
      subscriptionId: original.subscriptionId,
    };
    return Promise.all(Array.from({ length: copies }, () => this.send(event)));
  }

  list(filter: { provider?: ProviderId; subscriptionId?: string } = {}): DeliveryRecord[] {
    return structuredClone(
      this.#records.filter(
        (record) =>
          (filter.provider === undefined || record.provider === filter.provider) &&
          (filter.subscriptionId === undefined || record.subscriptionId === filter.subscriptionId),
      ),
    );
  }

  clearLog(): void {
    this.#records = [];
  }

  /** Resolves when no delivery or retry is under way. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled(this.#inFlight);
  }

  close(): void {
    this.#closing.abort();
  }

  #track(work: Promise<unknown>): void {
    const settled = work.catch(() => undefined).finally(() => this.#inFlight.delete(settled));
    this.#inFlight.add(settled);
  }

  async #retry(record: DeliveryRecord, secret: string): Promise<void> {
    for (const delay of this.#retryDelaysMs) {
      const waited = await sleep(delay, true, { signal: this.#closing.signal }).catch(() => false);
      if (!waited) return;
      if (await this.#attempt(record, secret)) return;
    }
    record.state = "failed";
  }

  async #attempt(record: DeliveryRecord, secret: string): Promise<boolean> {
    const headers = signedHeaders(record.provider, secret, {
      id: record.eventId,
      body: record.body,
      eventName: record.type,
      // Real time, not the emulator's clock: the app checks it against its own.
      timestamp: Math.floor(Date.now() / 1000),
    });
    const attempt: DeliveryAttempt = { at: new Date().toISOString() };
    record.attempts.push(attempt);
    try {
      const response = await fetch(record.url!, {
        method: "POST",
        headers,
        body: record.body,
        // A redirect is a failed delivery at every provider.
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(this.#attemptTimeoutMs), this.#closing.signal]),
      });
      await response.body?.cancel();
      attempt.status = response.status;
    } catch (error) {
      attempt.error = error instanceof Error && error.name === "TimeoutError" ? "timeout" : "connection failed";
    }
    const ok = attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300;
    record.state = ok ? "delivered" : "pending";
    return ok;
  }
}
