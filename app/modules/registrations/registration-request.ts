/**
 * What the registration form hands to the registrations module once zod has validated it. Shared
 * by the event route (which builds it) and the module (which acts on it).
 */
export type RegistrationRequest = {
  eventId: string
  ticketTypeId: string
  /** A UUID rendered into the form: a double submit or a retried request is one registration. */
  submissionId: string
  name: string
  email: string
  quantity: number
  accessNeeds: string | null
  /** Pay what you can: the amount per ticket the person chose, in minor units. */
  chosenPriceMinor: number | null
}

export type RegistrationOutcome =
  | { kind: 'confirmed'; registrationId: string; manageUrl: string }
  | { kind: 'waitlisted'; registrationId: string; position: number; manageUrl: string }
  /**
   * The same form again gets its link back (`manageUrl`). Someone else typing a registered email
   * does not: the link goes by email to that address instead, and `manageUrl` is null.
   */
  | { kind: 'already-registered'; registrationId: string; status: 'confirmed' | 'waitlisted' | 'held' | 'offered'; manageUrl: string | null }
  /** `checkoutSessionId` is for the cookie that lets this browser alone see the booking on its return. */
  | { kind: 'checkout'; url: string; checkoutSessionId: string }
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  /** Unpaid holds already open for this event from this email address or connection (hold-limits.server.ts). */
  | { kind: 'too-many-holds'; reason: 'email' | 'client'; limit: number; retryAfterSeconds: number }
  | { kind: 'closed'; reason: 'not-found' | 'past' | 'cancelled' }
  | { kind: 'invalid'; field: 'ticketTypeId' | 'quantity' | 'chosenPriceMinor'; message: string }
  | { kind: 'unavailable'; message: string }
