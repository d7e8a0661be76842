import { z } from 'zod'
import {
  ActionButton,
  defineEmailTemplate,
  EmailLayout,
  Heading,
  httpUrl,
  organisationSchema,
  Paragraph,
  PlainLink,
  previewOrganisation,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  /** The one-time link that joins the browser it is opened in to the list kept for this address. */
  linkUrl: httpUrl,
  expiresInMinutes: z.number().int().min(1).max(24 * 60),
  /** The alerts asked for; they start only once the link is opened. */
  alertsReminder: z.boolean().default(false),
  alertsFewPlaces: z.boolean().default(false),
})
export type SavedEventsLinkProps = z.output<typeof schema>

export function subject(props: SavedEventsLinkProps) {
  return `Keep your saved events on your other devices – ${props.organisation.name}`
}

export function Component(props: SavedEventsLinkProps) {
  const { organisation } = props
  const minutes = props.expiresInMinutes === 1 ? '1 minute' : `${props.expiresInMinutes} minutes`
  const alerts = [
    props.alertsReminder ? 'remind you a day before each saved event' : null,
    props.alertsFewPlaces ? 'tell you when only a few places are left' : null,
  ].filter(Boolean)
  return (
    <EmailLayout organisation={organisation} preview={`Open the link on your other device. It works once and lasts ${minutes}.`}>
      <Heading>Keep your saved events</Heading>
      <Paragraph>
        Someone, we hope you, asked to keep the events saved on the {organisation.name} website on other devices, using
        this email address.
      </Paragraph>
      <Paragraph>
        Open this link in the browser you want to keep your saved events in. It works once, and only for the next {minutes}.
      </Paragraph>
      <ActionButton href={props.linkUrl} colour={organisation.primaryColour}>
        Keep my saved events on this device
      </ActionButton>
      <Paragraph>
        If the button does not work, copy this address into your browser: <PlainLink href={props.linkUrl} />
      </Paragraph>
      <Paragraph>
        To confirm, you will be asked to type this email address. Confirming links that browser to the list of saved
        events kept for this address, and adds to that list the events saved in the browser where this was asked for
        {alerts.length > 0 ? `; we will ${alerts.join(' and ')}, by email to this address` : ''}. The browser where this was
        asked for is not linked: to see the list there too, ask for another link and open it there.
      </Paragraph>
      <Paragraph>
        Do not forward this email or the link to anyone: whoever can open links sent to this address will see what is saved
        in a browser linked with it.
      </Paragraph>
      <Paragraph>
        If you did not ask for this, please ignore this email: nothing happens without the link, and we will not write to
        you again.
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  linkUrl: 'https://example.org/saved/verify?token=preview-token&signature=preview-signature',
  expiresInMinutes: 60,
  alertsReminder: true,
  alertsFewPlaces: true,
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
