import { sql } from 'kysely'
import type { DatabaseTransaction } from '#app/utils/db.server.ts'

type Trx = DatabaseTransaction

/** The one place capacity is taken: succeeds only while the places fit. */
export async function takePlaces(trx: Trx, eventId: string, quantity: number): Promise<boolean> {
  const taken = await trx
    .updateTable('events')
    .set({ places_taken: sql`places_taken + ${quantity}`, updated_at: new Date() })
    .where('id', '=', eventId)
    .where(sql<boolean>`places_taken + ${quantity} <= capacity`)
    .returning('places_taken')
    .executeTakeFirst()
  return taken !== undefined
}

export async function releasePlaces(trx: Trx, eventId: string, quantity: number) {
  await trx
    .updateTable('events')
    .set({ places_taken: sql`greatest(places_taken - ${quantity}, 0)`, updated_at: new Date() })
    .where('id', '=', eventId)
    .execute()
}
