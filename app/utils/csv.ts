/**
 * CSV for staff exports: RFC 4180 (CRLF line ends, fields quoted only when they must be) with a
 * guard against formula injection, because donors type their own names and staff open these
 * files in spreadsheets, where "=HYPERLINK(…)" in a name cell would run.
 */

export type CsvCell = string | number | boolean | null | undefined

/** OWASP's list: = + - @ start a formula; a leading tab or carriage return can hide one. */
const FORMULA_START = /^[=+\-@\t\r]/

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return ''
  let text = typeof value === 'string' ? value : String(value)
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRow(cells: readonly CsvCell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`
}

/**
 * Excel reads a CSV without a byte order mark as the local code page, which garbles the Arabic
 * and accented names many of our donors have.
 */
export const UTF8_BOM = '\uFEFF'

/**
 * A CSV body that asks for the next page only when the reader has taken the last one, so an
 * export of any size holds one page in memory (the default high-water mark is one chunk).
 * `nextPage` gets the last row of the previous page (null at first) and returns at most
 * `pageSize` rows; a short page ends the file.
 */
export function pagedCsvStream<Row>(options: {
  header: readonly string[]
  pageSize: number
  nextPage: (after: Row | null) => Promise<Row[]>
  toCells: (row: Row) => readonly CsvCell[]
  onError?: (error: unknown) => void
}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let last: Row | null = null
  let started = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true
        controller.enqueue(encoder.encode(UTF8_BOM + csvRow(options.header)))
        return
      }
      let rows: Row[]
      try {
        rows = await options.nextPage(last)
      } catch (error) {
        // The status line has gone already; a broken download is the only way left to say so.
        options.onError?.(error)
        controller.error(error)
        return
      }
      if (rows.length > 0) {
        controller.enqueue(encoder.encode(rows.map((row) => csvRow(options.toCells(row))).join('')))
        last = rows[rows.length - 1]!
      }
      if (rows.length < options.pageSize) controller.close()
    },
  })
}

/** Headers every staff export carries: a download, never kept by a browser or proxy. */
export function csvHeaders(filename: string): HeadersInit {
  return {
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  }
}
