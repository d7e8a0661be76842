import { closeDb, getDb } from '../../app/utils/db.server.ts'
import { migrateToLatest } from '../migrate.server.ts'

const { results } = await migrateToLatest(getDb())
for (const result of results ?? []) console.log(`${result.status}: ${result.migrationName}`)
if (!results?.length) console.log('The database is up to date.')
await closeDb()
