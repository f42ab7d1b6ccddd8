/**
 * The demo subscriptions' dates, one story for the demo seed (our database) and the provider emulator (the
 * portal), so `/account` and the portal name the same renewal day. They started on 5 January 2026 and renew
 * on the 5th of each month at 10:00 UTC: the current period is the one that contains `now`. A past-due one
 * failed its renewal at that period's start.
 */
export const DEMO_SUBSCRIPTIONS_STARTED = new Date("2026-01-05T10:00:00Z");

export function demoPeriod(now: Date): { start: Date; end: Date } {
  const anchorDay = DEMO_SUBSCRIPTIONS_STARTED.getUTCDate();
  const anchorHour = DEMO_SUBSCRIPTIONS_STARTED.getUTCHours();
  let year = now.getUTCFullYear();
  let month = now.getUTCMonth();
  if (Date.UTC(year, month, anchorDay, anchorHour) > now.getTime()) {
    month -= 1;
    if (month < 0) {
      month = 11;
      year -= 1;
    }
  }
  return { start: new Date(Date.UTC(year, month, anchorDay, anchorHour)), end: new Date(Date.UTC(year, month + 1, anchorDay, anchorHour)) };
}
