import { useEffect, useRef } from "react";

/**
 * Moves focus to the returned ref's element each time `attempt` changes to a
 * failed one, so keyboard and screen-reader users land on what went wrong
 * instead of the top of the page. That is the JavaScript side: the element
 * also carries `autoFocus`, which the browser honours on a server-rendered page.
 * `attempt` must be new for each attempt (an action's data, a location key).
 */
export function useFocusOnFailure<T extends HTMLElement>(failed: boolean, attempt: unknown) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (failed) ref.current?.focus();
    // oxlint-disable-next-line react/exhaustive-effect-dependencies -- `attempt` is the trigger: each new failure moves focus again
  }, [failed, attempt]);
  return ref;
}
