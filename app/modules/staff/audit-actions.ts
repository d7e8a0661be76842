/**
 * Audit actions in words staff read. The log stores the stable key (`staff.signed_in`), which the
 * filter searches by prefix; the page shows these words beside it. A key not listed here (a new
 * action) is still shown, turned into words from its parts, never left out.
 */
const ACTION_NAMES: Record<string, string> = {
  'appeal.create': 'Created an appeal',
  'appeal.edit': 'Edited an appeal',
  'appeal.publish': 'Published an appeal',
  'appeal.close': 'Closed an appeal',
  'appeal.reopen': 'Reopened an appeal',
  'appeal.update.post': 'Posted an appeal update',
  'appeal.update.edit': 'Edited an appeal update',
  'donation.refund': 'Refunded a donation',
  'donation.resend_receipt': 'Sent a receipt again',
  'donation.keep_second_payment': 'Kept a second payment as a gift',
  'donations.export': 'Downloaded donations (CSV)',
  'email.retry': 'Retried a failed email',
  'event.cancel': 'Cancelled an event',
  'event.capacity': 'Changed an event’s capacity',
  'event.create': 'Created an event',
  'event.edit': 'Edited an event',
  'event.limits': 'Changed an event’s limits for one connection',
  'event.publish': 'Published an event',
  'gift_aid.claim': 'Marked Gift Aid as claimed',
  'gift_aid.export': 'Downloaded the Gift Aid schedule',
  'registration.check_in': 'Checked someone in',
  'registrations.export': 'Downloaded registrations (CSV)',
  'staff.created': 'Staff user created (command line)',
  'staff.updated': 'Staff user updated (command line)',
  'staff.invite': 'Invited a staff user',
  'staff.role': 'Changed a staff user’s role',
  'staff.disable': 'Disabled a staff user',
  'staff.disabled': 'Staff user disabled',
  'staff.enable': 'Enabled a staff user',
  'staff.sign_in_link_sent': 'Sign-in link sent',
  'staff.signed_in': 'Signed in',
  'staff.signed_out': 'Signed out',
  'staff.signed_out_everywhere': 'Signed out everywhere',
  'stripe_event.retry': 'Retried a payment event',
  'supporter.erased': 'Erased a supporter’s personal data',
  'supporter.export': 'Downloaded a supporter’s data',
  'supporter.lookup': 'Looked up a supporter',
}

export function describeAuditAction(action: string): string {
  const known = ACTION_NAMES[action]
  if (known) return known
  const words = action.replaceAll(/[._]+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}
