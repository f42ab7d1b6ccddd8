import { Form, useLocation, useNavigation } from "react-router";
import type { PortalIntent } from "./providers/provider.ts";

/**
 * One portal action as its own `<Form method="post" action="/billing/portal">`
 * (SPEC "Beyond the portal"): a plain form post without JavaScript, and with
 * it a pending state on the button that was pressed.
 */
export function PortalButton(props: { intent: PortalIntent; label: string; pendingLabel?: string; returnUrl?: string; primary?: boolean }) {
  const navigation = useNavigation();
  const location = useLocation();
  const busy = navigation.state !== "idle" && navigation.formAction === "/billing/portal";
  const mine = busy && navigation.formData?.get("intent") === props.intent;
  return (
    <Form method="post" action="/billing/portal">
      <input type="hidden" name="intent" value={props.intent} />
      <input type="hidden" name="returnUrl" value={props.returnUrl ?? `${location.pathname}${location.search}`} />
      <button type="submit" className={props.primary ? "button primary" : "button"} disabled={busy} aria-disabled={busy}>
        {mine ? (props.pendingLabel ?? "Opening…") : props.label}
      </button>
    </Form>
  );
}

/** Dunning (SPEC "Account page": `past_due`): shown on every signed-in page, one click to the card update. */
export function DunningAlert(props: { portalName?: string | null }) {
  // A provider without a card-update page of its own: the button says where it leads (its portal's home).
  const label = props.portalName ? `Update payment method in ${props.portalName}'s portal` : "Update payment method";
  return (
    <div role="alert" className="alert alert-warning dunning" data-testid="dunning-alert">
      <p>Your last payment failed. Update your payment method to keep your subscription.</p>
      <PortalButton intent="payment_method" label={label} pendingLabel="Opening payment update…" primary />
    </div>
  );
}
