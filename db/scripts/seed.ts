import { closeDb, getDb } from '../../app/utils/db.server.ts'
import { migrateToLatest } from '../migrate.server.ts'
import { seedDemoData } from '../seed/demo-data.ts'

const db = getDb()
await migrateToLatest(db)
const { seeded } = await seedDemoData(db)
console.log(seeded ? 'Loaded the demo data.' : 'The database already has data; nothing was changed.')
await closeDb()
