import { closeDb, getDb } from '#app/utils/db.server.ts'
import { prepareDatabase } from '#app/server/prepare-database.server.ts'
import { seedDemoData } from './seed/demo-data.ts'

await prepareDatabase({ seed: false })
const { seeded } = await seedDemoData(getDb())
console.log(seeded ? 'Loaded the demo data.' : 'The database already has data; nothing was changed.')
await closeDb()
