import type { TaskList } from 'graphile-worker'
import { settleOfflinePayment, SETTLE_OFFLINE_PAYMENT_TASK } from '#app/modules/donations/offline-checkout.server.ts'
import { deliverOutboxEmail, SEND_EMAIL_TASK } from '#app/modules/email/outbox.server.ts'
import { getEmailSender } from '#app/modules/email/sender.server.ts'
import { createThrottle } from '#app/modules/email/throttle.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { DEVELOPMENT_EMAIL_FROM, getEnv } from '#app/utils/env.server.ts'

/** Every background task the worker runs. */
export function createTaskList(): TaskList {
  const env = getEnv()
  const db = getDb()
  const sender = getEmailSender(db)
  const throttle = createThrottle(env.EMAIL_RATE_PER_SECOND)
  return {
    async [SEND_EMAIL_TASK](payload) {
      const { outboxId } = payload as { outboxId: string }
      await deliverOutboxEmail(db, outboxId, {
        sender,
        throttle,
        from: env.EMAIL_FROM ?? DEVELOPMENT_EMAIL_FROM,
        giveUpAfterMs: env.EMAIL_GIVE_UP_AFTER_HOURS * 60 * 60 * 1000,
      })
    },
    async [SETTLE_OFFLINE_PAYMENT_TASK](payload) {
      await settleOfflinePayment(db, (payload as { donationId: string }).donationId)
    },
  }
}
