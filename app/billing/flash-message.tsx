import { useLocation } from "react-router";
import { useFocusOnFailure } from "~/ui/use-focus-on-failure.ts";

/**
 * A failed attempt's message (set by a billing action, shown once by the
 * page). Focus moves to it, so keyboard and screen-reader users land on what
 * went wrong instead of the top of the page.
 */
export function FlashMessage({ message }: { message: string | null }) {
  // Each failed attempt redirects here anew: the same message twice still moves focus twice.
  const ref = useFocusOnFailure<HTMLParagraphElement>(Boolean(message), useLocation().key);
  if (!message) return null;
  return (
    // oxlint-disable-next-line jsx-a11y/no-autofocus -- without JavaScript, the only way to move focus to the message
    <p role="alert" className="alert alert-error" tabIndex={-1} ref={ref} autoFocus>
      {message}
    </p>
  );
}
