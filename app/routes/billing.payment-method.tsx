import type { Route } from "./+types/billing.payment-method";
import { PortalButton } from "~/billing/billing-actions.tsx";
import { auth } from "~/services.server.ts";

// The payment-failed mail's button lands here (a link cannot post): one press opens the provider's card update.
export const meta: Route.MetaFunction = () => [{ title: "Update your payment method · PortalStack" }];

export async function loader({ request }: Route.LoaderArgs) {
  await auth.requireUser(request);
  return null;
}

export default function PaymentMethod() {
  return (
    <main className="page narrow">
      <h1>Update your payment method</h1>
      <p>Your last payment failed. Update your card at the payment provider to keep your subscription.</p>
      <PortalButton intent="payment_method" label="Update payment method" pendingLabel="Opening payment update…" returnUrl="/account" primary />
    </main>
  );
}
