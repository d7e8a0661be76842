import type { TaskList } from '#app/modules/jobs/jobs.server.ts'
import { settleOfflinePayment, SETTLE_OFFLINE_PAYMENT_TASK } from '#app/modules/payments/offline-checkout.server.ts'
import { reconcileStripeEvents, RECONCILE_STRIPE_TASK } from '#app/modules/payments/reconciliation.server.ts'
import { randomUUID } from 'node:crypto'
import {
  deliverOutboxEmail,
  scheduleQueuedEmails,
  SCHEDULE_EMAILS_TASK,
  SEND_EMAIL_BATCHES_TASK,
  SEND_EMAIL_TASK,
} from '#app/modules/email/outbox.server.ts'
import { createBatchRunner, scheduleDueBatches } from '#app/modules/email/batches.server.ts'
import { sendSaverAlerts, SEND_SAVER_ALERTS_TASK } from '#app/modules/events/saver-alerts.server.ts'
import { getEmailSender } from '#app/modules/email/sender.server.ts'
import { createThrottle } from '#app/modules/email/throttle.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { DEVELOPMENT_EMAIL_FROM, getEnv } from '#app/utils/env.server.ts'
import { EMAIL_APPEAL_UPDATE_TASK, emailAppealUpdate } from '#app/modules/appeals/appeal-updates.server.ts'
import { PURGE_ABANDONED_CHECKOUTS_TASK, purgeAbandonedCheckouts, purgeUnusedSavers } from '#app/modules/supporters/retention.server.ts'
import { EXPIRE_TICKET_CHECKOUT_TASK, expireTicketCheckout, RELEASE_HOLD_TASK, releaseExpiredHold } from '#app/modules/registrations/holds.server.ts'
import { forgetHoldClientKeys } from '#app/modules/registrations/hold-limits.server.ts'
import { REFUND_REGISTRATION_TASK, refundRegistration } from '#app/modules/registrations/paid-tickets.server.ts'
import { SEND_REMINDERS_TASK, sendEventReminders } from '#app/modules/registrations/reminders.server.ts'
import { EXPIRE_OFFER_TASK, EXPIRE_UNCONFIRMED_WAITLIST_TASK, expireOffer, expireUnconfirmedWaitlistEntry } from '#app/modules/registrations/waitlist.server.ts'
import { forgetCheckoutClientKeys } from '#app/modules/donations/checkout.server.ts'
import { APPLY_STRIPE_EVENTS_TASK, applyDueStripeEvents, purgeStripeInbox } from '#app/modules/payments/stripe-inbox.server.ts'
import { SEND_SIGN_IN_LINK_TASK, sendRequestedSignInLink } from '#app/modules/staff/sign-in.server.ts'
import { purgeStaleSignInFailures } from '#app/modules/staff/sign-in-throttle.server.ts'

/** The worker's schedule (graphile-worker crontab): one job per slot, even with several workers. */
export const CRONTAB = [
  // Every minute: delivery jobs for emails whose web process stopped before it could add them, and
  // for batches whose worker stopped mid-send.
  `* * * * * ${SCHEDULE_EMAILS_TASK} ?jobKey=${SCHEDULE_EMAILS_TASK}&max=3`,
  // Every hour, at a quarter past: put Stripe events the webhook missed into the inbox.
  `15 * * * * ${RECONCILE_STRIPE_TASK} ?jobKey=${RECONCILE_STRIPE_TASK}&max=3`,
  // Every ten minutes: reminders for events starting within the next day.
  `*/10 * * * * ${SEND_REMINDERS_TASK} ?jobKey=${SEND_REMINDERS_TASK}&max=3`,
  // Every ten minutes, offset: alerts for saved events (a day to go, or only a few places left).
  `5,15,25,35,45,55 * * * * ${SEND_SAVER_ALERTS_TASK} ?jobKey=${SEND_SAVER_ALERTS_TASK}&max=3`,
  // Every night at 03:40: forget the personal data of checkouts that never completed.
  `40 3 * * * ${PURGE_ABANDONED_CHECKOUTS_TASK} ?jobKey=${PURGE_ABANDONED_CHECKOUTS_TASK}&max=3`,
].join('\n')

/**
 * The payments runner's schedule. Every minute: apply Stripe events whose wake-up was lost (the
 * worker's own sweep, every few seconds, does the same while a worker runs; this covers a worker
 * started without it).
 */
export const PAYMENTS_CRONTAB = `* * * * * ${APPLY_STRIPE_EVENTS_TASK} ?jobKey=${APPLY_STRIPE_EVENTS_TASK}&max=3`

/** Every background task the worker runs. */
export function createTaskList(): TaskList {
  const env = getEnv()
  const db = getDb()
  const sender = getEmailSender(db)
  // One throttle for both ways of sending: a batch of 100 is one request to Resend, as an email alone is.
  const throttle = createThrottle(env.EMAIL_RATE_PER_SECOND)
  const delivery = {
    sender,
    throttle,
    from: env.EMAIL_FROM ?? DEVELOPMENT_EMAIL_FROM,
    replyTo: env.EMAIL_REPLY_TO,
    giveUpAfterMs: env.EMAIL_GIVE_UP_AFTER_HOURS * 60 * 60 * 1000,
  }
  const worker = { id: randomUUID(), startedAt: new Date() }
  const runBatches = createBatchRunner()
  return {
    async [SEND_EMAIL_TASK](payload) {
      const { outboxId } = payload as { outboxId: string }
      await deliverOutboxEmail(db, outboxId, delivery)
    },
    async [SEND_EMAIL_BATCHES_TASK](_payload, helpers) {
      await runBatches(db, { ...delivery, worker, signal: helpers.abortSignal })
    },
    async [SCHEDULE_EMAILS_TASK]() {
      await scheduleQueuedEmails(db)
      await scheduleDueBatches(db)
    },
    async [APPLY_STRIPE_EVENTS_TASK](_payload, helpers) {
      await applyDueStripeEvents(db, {
        maxAttempts: env.STRIPE_EVENT_MAX_ATTEMPTS,
        lanes: env.STRIPE_APPLY_CONCURRENCY,
        // A second after the last event: a steady stream is applied by the lanes already running.
        lingerMs: 1_000,
        signal: helpers.abortSignal,
      })
    },
    async [RECONCILE_STRIPE_TASK]() {
      await reconcileStripeEvents(db)
    },
    async [SEND_REMINDERS_TASK]() {
      await sendEventReminders(db)
    },
    async [SEND_SAVER_ALERTS_TASK]() {
      await sendSaverAlerts(db)
    },
    async [EXPIRE_OFFER_TASK](payload) {
      await expireOffer(db, (payload as { registrationId: string }).registrationId)
    },
    async [RELEASE_HOLD_TASK](payload) {
      await releaseExpiredHold(db, (payload as { registrationId: string }).registrationId)
    },
    async [EXPIRE_TICKET_CHECKOUT_TASK](payload) {
      await expireTicketCheckout((payload as { sessionId: string }).sessionId)
    },
    async [EXPIRE_UNCONFIRMED_WAITLIST_TASK](payload) {
      await expireUnconfirmedWaitlistEntry(db, (payload as { registrationId: string }).registrationId)
    },
    async [REFUND_REGISTRATION_TASK](payload) {
      const { registrationId, amountMinor } = payload as { registrationId: string; amountMinor?: number }
      await refundRegistration(db, registrationId, { amountMinor })
    },
    async [SETTLE_OFFLINE_PAYMENT_TASK](payload) {
      await settleOfflinePayment(db, (payload as { donationId: string }).donationId)
    },
    async [PURGE_ABANDONED_CHECKOUTS_TASK]() {
      await purgeAbandonedCheckouts(db, { days: env.ABANDONED_CHECKOUT_RETENTION_DAYS })
      await purgeUnusedSavers(db, { days: env.SAVER_RETENTION_DAYS })
      await forgetCheckoutClientKeys(db)
      await forgetHoldClientKeys(db)
      await purgeStripeInbox(db, { waitingDays: env.ABANDONED_CHECKOUT_RETENTION_DAYS, appliedDays: env.ABANDONED_CHECKOUT_RETENTION_DAYS })
      await purgeStaleSignInFailures(db)
    },
    async [SEND_SIGN_IN_LINK_TASK](payload) {
      await sendRequestedSignInLink(db, (payload as { email: string }).email)
    },
    async [EMAIL_APPEAL_UPDATE_TASK](payload) {
      await emailAppealUpdate(db, (payload as { updateId: string }).updateId)
    },
  }
}
