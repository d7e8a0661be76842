import { getEnv } from '#app/utils/env.server.ts'

/** Until when someone who joined the waitlist may confirm their address from the email (WAITLIST_CONFIRM_HOURS). */
export function waitlistConfirmDeadline(waitlistedAt: Date) {
  return new Date(waitlistedAt.getTime() + getEnv().WAITLIST_CONFIRM_HOURS * 60 * 60 * 1000)
}
