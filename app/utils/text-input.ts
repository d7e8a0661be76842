import { z } from 'zod'

/**
 * Text a person types into a public form. Control characters (NUL above all, which PostgreSQL
 * text cannot hold) are never part of a name, an address or a message, so they are refused with
 * a message rather than reaching the database. Tabs and line breaks are allowed. Browser-safe.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/
export const UNUSUAL_CHARACTERS_MESSAGE = 'Remove the unusual characters from this field'

export const plainText = () => z.string().refine((text) => !CONTROL_CHARACTERS.test(text), UNUSUAL_CHARACTERS_MESSAGE)

export const requiredText = (message: string) =>
  z.string({ required_error: message }).trim().min(1, message).refine((text) => !CONTROL_CHARACTERS.test(text), UNUSUAL_CHARACTERS_MESSAGE)

/**
 * A name we will print in an email to whatever address was typed beside it. Anyone can make us
 * email anyone, so a name is the one place a stranger's words reach another person's inbox from
 * our sender: it must be a name, not a message. Refused: line breaks (a second line reads as our
 * own text), bidi controls (U+202A–U+202E, U+2066–U+2069, which reorder what is shown: a link can
 * hide behind a name that reads innocently), and anything a mail client could turn into a link
 * (docs/decisions/021). Dotted names ("Dr. A. Khan", "St. John", "J.R.R. Tolkien", "A.Khan") are
 * names; "evil.example", "EVIL.COM", "evil.Example/cage", "https://…", "www.…", an email address
 * or an IP address are not. Browser-safe, so the form says it as the person types.
 */
// eslint-disable-next-line no-control-regex -- vertical tab and form feed break lines too
const LINE_BREAKS = /[\r\n\u000B\u000C\u0085\u2028\u2029]/
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/
const SCHEME_LINK = /[a-z][a-z0-9+.-]*:\/\//i
const WWW_LINK = /(?:^|[^\p{L}\p{N}])www\d?\./iu
const IP_ADDRESS = /(?:^|[^\p{N}.])\d{1,3}(?:\.\d{1,3}){3}(?:$|[^\p{N}])/u
/** Labels joined by dots, ending in a "top-level" label of two letters or more, then what follows it. */
const DOTTED_TOKEN = /(?:^|[^\p{L}\p{N}.-])((?:[\p{L}\p{N}-]+\.)+)(\p{L}{2,})(?=($|[^\p{L}\p{N}-]))(.?)/gu

export const NAME_LINE_BREAK_MESSAGE = 'Write your name on one line'
export const NAME_BIDI_MESSAGE = 'Remove the hidden text-direction characters from your name'
export const NAME_LINK_MESSAGE =
  'Your name cannot include a web address, link or email address. If your name has a dot in it, put a space after the dot, like Dr. A. Khan'

function looksLikeDomain(text: string): boolean {
  for (const match of text.matchAll(DOTTED_TOKEN)) {
    const topLevel = match[2]!
    const next = match[4] ?? ''
    // A path, port, query or fragment after it: a link whatever its case.
    if (/^[/:?#]/.test(next)) return true
    // One case throughout ("example", "COM", or a script without case) is how domains are
    // written; a capitalised last part ("A.Khan", "Dr.Smith") is how names are.
    if (topLevel === topLevel.toLowerCase() || topLevel === topLevel.toUpperCase()) return true
  }
  return false
}

/** Why this is not a name we will print in an email, or null when it is fine. */
export function personNameProblem(name: string): string | null {
  if (LINE_BREAKS.test(name)) return NAME_LINE_BREAK_MESSAGE
  if (BIDI_CONTROLS.test(name)) return NAME_BIDI_MESSAGE
  if (name.includes('@') || SCHEME_LINK.test(name) || WWW_LINK.test(name) || IP_ADDRESS.test(name) || looksLikeDomain(name)) return NAME_LINK_MESSAGE
  return null
}

/** A required name field of a public form: trimmed, at most `max` characters, and a name (above). */
export const personNameText = (requiredMessage: string, max: number, tooLongMessage: string) =>
  requiredText(requiredMessage)
    .pipe(z.string().max(max, tooLongMessage))
    .superRefine((name, ctx) => {
      const problem = personNameProblem(name)
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem })
    })
