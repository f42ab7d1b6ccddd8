import type { BillingEvent, ListedSubscription } from "./provider.ts";

/**
 * The time a list call's answer stands for: its start, to the second. A provider's answer is the newest state
 * (SPEC), but a webhook timed within the same second (Stripe's `created` has one-second resolution) may describe
 * a change made just after the read: at equal times the event wins, as it does over an equal stored state.
 */
export function observedNow(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

/** A list page's objects read by the provider's own webhook parser; objects it cannot read are left out. */
export function listedSubscriptions(
  objects: readonly unknown[],
  observedAt: Date,
  parse: (object: unknown) => BillingEvent,
): ListedSubscription[] {
  const items: ListedSubscription[] = [];
  for (const object of objects) {
    const event = parse(object);
    if (event.kind === "subscription-upserted" || event.kind === "subscription-deleted") items.push({ ...event, occurredAt: observedAt });
  }
  return items;
}
