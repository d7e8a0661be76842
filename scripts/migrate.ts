import { closeDb } from '#app/utils/db.server.ts'
import { prepareDatabase } from '#app/server/prepare-database.server.ts'

await prepareDatabase({ seed: false })
console.log('The database is up to date.')
await closeDb()
