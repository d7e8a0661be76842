import { z } from 'zod'
import {
  ActionButton,
  defineEmailTemplate,
  EmailLayout,
  Greeting,
  Heading,
  httpUrl,
  organisationSchema,
  Paragraph,
  personName,
  PlainLink,
  previewOrganisation,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  /** The one-time sign-in link. */
  signInUrl: httpUrl,
  expiresInMinutes: z.number().int().min(1).max(24 * 60),
})
export type StaffSignInProps = z.output<typeof schema>

export function subject(props: StaffSignInProps) {
  return `Your sign-in link for ${props.organisation.name}`
}

export function Component(props: StaffSignInProps) {
  const { organisation } = props
  const minutes = props.expiresInMinutes === 1 ? '1 minute' : `${props.expiresInMinutes} minutes`
  return (
    <EmailLayout organisation={organisation} preview={`The link works once and lasts ${minutes}.`}>
      <Heading>Sign in</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        Use this link to sign in to the {organisation.name} staff area. It works once, and only for the next {minutes}.
      </Paragraph>
      <ActionButton href={props.signInUrl} colour={organisation.primaryColour}>
        Sign in
      </ActionButton>
      <Paragraph>
        If the button does not work, copy this address into your browser: <PlainLink href={props.signInUrl} />
      </Paragraph>
      <Paragraph>
        If you did not ask to sign in, you can ignore this email: nobody can sign in without the link. Please do not
        forward it.
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Hana',
  signInUrl: 'https://example.org/staff/sign-in/verify?token=preview-token',
  expiresInMinutes: 15,
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
