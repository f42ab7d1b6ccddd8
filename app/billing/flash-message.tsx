import { useEffect, useRef } from "react";

/**
 * A failed attempt's message (set by a billing action, shown once by the
 * page). Focus moves to it, so keyboard and screen-reader users land on what
 * went wrong instead of the top of the page.
 */
export function FlashMessage({ message }: { message: string | null }) {
  const ref = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (message) ref.current?.focus();
  }, [message]);
  if (!message) return null;
  return (
    <p role="alert" className="alert alert-error" tabIndex={-1} ref={ref}>
      {message}
    </p>
  );
}
