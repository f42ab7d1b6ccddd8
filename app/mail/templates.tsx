import { Body, Button, Container, Head, Heading, Html, Preview, render, Section, Text } from "@react-email/components";
import type { ReactElement } from "react";
import type { TemplateName } from "./template-names.ts";

/**
 * Every mail the app sends, as React components (SPEC "Email"): each template takes its props and
 * gives a subject and a body; `renderMail` makes the HTML and the plain-text part from the same tree.
 */

type Layout = { preview: string; heading: string; paragraphs: string[]; action?: { label: string; url: string }; footer?: string };

function MailLayout({ preview, heading, paragraphs, action, footer }: Layout) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body style={{ backgroundColor: "#f6f7f9", fontFamily: "system-ui, -apple-system, Segoe UI, sans-serif" }}>
        <Container style={{ backgroundColor: "#ffffff", padding: "24px", maxWidth: "560px" }}>
          <Heading as="h1" style={{ fontSize: "22px" }}>
            {heading}
          </Heading>
          {paragraphs.map((paragraph) => (
            <Text key={paragraph}>{paragraph}</Text>
          ))}
          {action ? (
            <Section style={{ margin: "24px 0" }}>
              <Button href={action.url} style={{ backgroundColor: "#1d4ed8", color: "#ffffff", padding: "12px 20px", borderRadius: "6px" }}>
                {action.label}
              </Button>
              <Text style={{ color: "#555", fontSize: "13px" }}>Or open this link: {action.url}</Text>
            </Section>
          ) : null}
          <Text style={{ color: "#555", fontSize: "13px" }}>{footer ?? "PortalStack"}</Text>
        </Container>
      </Body>
    </Html>
  );
}

type Mail = { subject: string; element: ReactElement };

const templates = {
  "password-reset": (props: { url: string }): Mail => ({
    subject: "Reset your PortalStack password",
    element: (
      <MailLayout
        preview="A link to choose a new password, valid for 1 hour."
        heading="Reset your password"
        paragraphs={["Someone (hopefully you) asked to reset the password of your PortalStack account.", "The link works once, for 1 hour."]}
        action={{ label: "Choose a new password", url: props.url }}
        footer="If you did not ask for this, ignore this mail: your password stays as it is."
      />
    ),
  }),
  "email-change": (props: { url: string }): Mail => ({
    subject: "Confirm your new PortalStack email address",
    element: (
      <MailLayout
        preview="Confirm this address for your PortalStack account."
        heading="Confirm your new email address"
        paragraphs={["Your PortalStack account asked to use this address from now on.", "The link works once, for 1 hour."]}
        action={{ label: "Confirm this address", url: props.url }}
        footer="If you did not ask for this, ignore this mail: nothing changes."
      />
    ),
  }),
  "subscription-started": (props: { plan: string; accountUrl: string }): Mail => ({
    subject: "Your PortalStack subscription has started",
    element: (
      <MailLayout
        preview={`Your ${props.plan} subscription is active.`}
        heading="Welcome aboard"
        paragraphs={[`Your ${props.plan} subscription has started. You can manage it from your account at any time.`]}
        action={{ label: "Open your account", url: props.accountUrl }}
      />
    ),
  }),
  "payment-failed": (props: { plan: string; paymentMethodUrl: string }): Mail => ({
    subject: "Your payment failed: update your card",
    element: (
      <MailLayout
        preview="We could not take your last payment."
        heading="Your payment failed"
        paragraphs={[`We could not take the last payment for your ${props.plan} subscription.`, "Update your card to keep your subscription."]}
        action={{ label: "Update payment method", url: props.paymentMethodUrl }}
      />
    ),
  }),
  "cancellation-scheduled": (props: { plan: string; endsOn: string; accountUrl: string }): Mail => ({
    subject: "Your PortalStack subscription will end",
    element: (
      <MailLayout
        preview={`Your subscription ends on ${props.endsOn}.`}
        heading="Your subscription is cancelled"
        paragraphs={[`Your ${props.plan} subscription stays active until ${props.endsOn}, then ends.`, "Changed your mind? You can resume it from your account."]}
        action={{ label: "Open your account", url: props.accountUrl }}
      />
    ),
  }),
  "subscription-ended": (props: { plan: string; pricingUrl: string }): Mail => ({
    subject: "Your PortalStack subscription has ended",
    element: (
      <MailLayout
        preview="Your subscription has ended."
        heading="Your subscription has ended"
        paragraphs={[`Your ${props.plan} subscription has ended. You can subscribe again at any time.`]}
        action={{ label: "See plans", url: props.pricingUrl }}
      />
    ),
  }),
  "trial-ending": (props: { plan: string; endsOn: string; accountUrl: string }): Mail => ({
    subject: "Your PortalStack trial ends in 3 days",
    element: (
      <MailLayout
        preview={`Your trial ends on ${props.endsOn}.`}
        heading="Your trial ends soon"
        paragraphs={[`Your ${props.plan} trial ends on ${props.endsOn}. Check your payment method to keep going without a break.`]}
        action={{ label: "Open your account", url: props.accountUrl }}
      />
    ),
  }),
  invitation: (props: { organization: string; inviter: string; role: string; url: string }): Mail => ({
    subject: "You are invited to an organisation on PortalStack",
    element: (
      <MailLayout
        preview={`${props.inviter} invites you to ${props.organization}.`}
        heading={`Join ${props.organization}`}
        paragraphs={[
          `${props.inviter} invites you to the organisation ${props.organization} on PortalStack, as ${props.role}.`,
          "Sign in (or sign up) with this email address to accept. The link works once, for 7 days.",
        ]}
        action={{ label: "See the invitation", url: props.url }}
        footer="If you did not expect this, ignore this mail: nothing changes."
      />
    ),
  }),
} as const satisfies Record<TemplateName, (props: never) => Mail>;

export type MailTemplates = typeof templates;
export type TemplateProps<Name extends TemplateName> = Parameters<MailTemplates[Name]>[0];

export type RenderedMail = { subject: string; html: string; text: string };

export async function renderMail<Name extends TemplateName>(name: Name, props: TemplateProps<Name>): Promise<RenderedMail> {
  const { subject, element } = (templates[name] as (props: TemplateProps<Name>) => Mail)(props);
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true })]);
  return { subject, html, text };
}
