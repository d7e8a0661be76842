import path from 'node:path'
import { importUploads } from '#app/modules/appeals/photos/import-uploads.server.ts'
import { closeDb, getDb } from '#app/utils/db.server.ts'
import { prepareDatabase } from '#app/server/prepare-database.server.ts'

/**
 * npm run photos:import [-- FOLDER]
 *
 * Moves the appeal photos that older versions wrote to UPLOADS_DIR (default ./uploads) into the
 * database, once, on the machine that has that folder. Safe to run again: what was moved is
 * skipped. Files no appeal refers to are left alone. Exits 1 when a photo could not be moved.
 */

const folder = path.resolve(process.argv[2] ?? (process.env.UPLOADS_DIR || './uploads'))

await prepareDatabase({ seed: false })
try {
  const report = await importUploads(getDb(), folder)
  console.log(`Moved ${report.imported.length} photo(s) from ${folder} into the database.`)
  for (const name of report.missing) console.log(`Missing: an appeal points at /uploads/${name}, but ${folder} has no such file.`)
  for (const { name, reason } of report.refused) console.log(`Not moved: /uploads/${name}: ${reason}.`)
  if (report.missing.length > 0 || report.refused.length > 0) process.exitCode = 1
} finally {
  await closeDb()
}
