import { z } from 'zod'
import {
  ActionButton,
  defineEmailTemplate,
  EmailLayout,
  Greeting,
  Heading,
  httpUrl,
  lineOfText,
  organisationSchema,
  Paragraph,
  personName,
  PlainLink,
  plainTextBody,
  PlainTextParagraphs,
  previewOrganisation,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  appealTitle: lineOfText,
  updateTitle: lineOfText,
  /** Plain text (untrusted); paragraphs are separated by blank lines. Never HTML or markdown. */
  updateBody: plainTextBody,
  appealUrl: httpUrl,
  /** A signed link that stops these updates with one click. */
  unsubscribeUrl: httpUrl,
})
export type AppealUpdateProps = z.output<typeof schema>

export function subject(props: AppealUpdateProps) {
  return `${props.updateTitle} – ${props.appealTitle}`
}

export function Component(props: AppealUpdateProps) {
  const { organisation } = props
  return (
    <EmailLayout
      organisation={organisation}
      preview={`News from ${props.appealTitle}.`}
      footerNote={
        <>
          You are getting this because you asked for news of {props.appealTitle}.{' '}
          <PlainLink href={props.unsubscribeUrl} colour="#4a4a4a">
            Stop these updates
          </PlainLink>
        </>
      }
    >
      <Heading>{props.updateTitle}</Heading>
      <Greeting name={props.name} />
      <Paragraph>Here is the latest news from {props.appealTitle}, which you kindly supported.</Paragraph>
      <PlainTextParagraphs text={props.updateBody} />
      <ActionButton href={props.appealUrl} colour={organisation.primaryColour}>
        Read more on the appeal page
      </ActionButton>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  appealTitle: 'Help Yusuf walk again',
  updateTitle: 'Yusuf has his new prosthetic leg',
  updateBody:
    'Thanks to you, Yusuf was fitted with his new prosthetic leg last week.\n\nHe is now working with a physiotherapist twice a week, and last Friday he walked to the end of his street and back.\nHis words: "I had forgotten what the wind feels like."\n\nThank you for standing with him.',
  appealUrl: 'https://example.org/appeals/walk-again-yusuf',
  unsubscribeUrl: 'https://example.org/updates/unsubscribe?token=preview-token',
}

/** Sent to many at once: in batches, its people's own values put into one rendering (emails/index.ts). */
const batch = { personalised: ['name', 'unsubscribeUrl'] } as const

export default defineEmailTemplate({ schema, subject, Component, previewProps, unsubscribeUrl: (props) => props.unsubscribeUrl, batch })
