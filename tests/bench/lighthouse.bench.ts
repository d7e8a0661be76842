/**
 * `npm run bench:lighthouse`: Lighthouse (default config: mobile, simulated throttling) against the
 * production build, on the home page, an appeal page and an event page of the demo data. Prints
 * per page the four category scores, the core metrics, and the JavaScript and CSS the page loads
 * (bytes on the wire, gzipped with headers; for JavaScript also the gzipped bodies alone; and
 * decoded), with the targets beside them.
 *
 * The server starts as tests/e2e/setup/production-server.ts starts it: a fresh embedded database
 * in a temporary folder, seeded with the demo data. Debian's Chromium is launched by chrome-launcher
 * with DNS for every host but 127.0.0.1 switched off, and the bench fails if a page asked for
 * anything outside 127.0.0.1.
 *
 * Each page is measured BENCH_LIGHTHOUSE_RUNS times (each run in a fresh browser); the table shows
 * the run with the median performance score. JSON and HTML reports of every run go to
 * .cache/lighthouse/.
 *
 * Environment: BENCH_LIGHTHOUSE_RUNS (default 3), BENCH_LIGHTHOUSE_PAGES (comma-separated paths,
 * default the three below), BENCH_SKIP_BUILD (use the build that is there), CHROMIUM_PATH
 * (default /usr/bin/chromium).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import * as chromeLauncher from 'chrome-launcher'
import getPort from 'get-port'
import lighthouse from 'lighthouse'
import type { Result as LighthouseResult } from 'lighthouse'
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../e2e/chromium.ts'
import { buildForProduction, createCleanUp, startAppServer, type RunningServer } from './bench-server.ts'
import { positiveInteger } from './bench-env.ts'

const RUNS = positiveInteger('BENCH_LIGHTHOUSE_RUNS', 3)
// Slugs from scripts/seed/demo-data.ts.
const DEFAULT_PAGES = ['/', '/appeals/walk-again-yusuf', '/events/witness-testimonies-evening']
const PAGES = process.env.BENCH_LIGHTHOUSE_PAGES ? process.env.BENCH_LIGHTHOUSE_PAGES.split(',').map((page) => page.trim()) : DEFAULT_PAGES
const REPORTS = path.resolve('.cache/lighthouse')

const CHROME_FLAGS = [
  ...CHROMIUM_FLAGS,
  // Belt and braces: whatever the browser or a page tries, no name but 127.0.0.1 resolves.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
]

/**
 * The JavaScript budget counts the gzipped JavaScript itself (the bodies), not the response
 * headers around it: those depend on the protocol (HTTP/2 compresses repeated headers) and on
 * the proxy in front, and they are printed beside it.
 */
const TARGETS = { performance: 95, accessibility: 100, bestPractices: 95, seo: 95, javascriptGzipBytes: 100_000 }

const log = (message: string) => process.stderr.write(`[bench:lighthouse] ${message}\n`)

const { add: addCleanUp, interrupted, runBenchmark } = createCleanUp(log)

type NetworkRequest = { url: string; resourceType?: string; transferSize?: number; resourceSize?: number; statusCode?: number }

type PageRun = {
  path: string
  run: number
  scores: { performance: number; accessibility: number; bestPractices: number; seo: number }
  metrics: { fcpMs: number; lcpMs: number; tbtMs: number; cls: number; speedIndexMs: number }
  bytes: {
    jsTransfer: number
    jsGzipBody: number
    jsDecoded: number
    jsRequests: number
    cssTransfer: number
    cssDecoded: number
    cssRequests: number
    totalTransfer: number
  }
  /** Audits below full marks, for finding what to fix. */
  shortfalls: string[]
  reportBase: string
}

function score(lhr: LighthouseResult, category: string): number {
  const value = lhr.categories[category]?.score
  if (typeof value !== 'number') throw new Error(`Lighthouse gave no ${category} score (runtime error: ${lhr.runtimeError?.message ?? 'none'})`)
  return Math.round(value * 100)
}

function numeric(lhr: LighthouseResult, audit: string): number {
  const value = lhr.audits[audit]?.numericValue
  if (typeof value !== 'number') throw new Error(`Lighthouse gave no value for ${audit}`)
  return value
}

function networkRequests(lhr: LighthouseResult): NetworkRequest[] {
  const details = lhr.audits['network-requests']?.details
  if (!details || details.type !== 'table') throw new Error('Lighthouse gave no network-requests table')
  return details.items as unknown as NetworkRequest[]
}

/** Requests that left 127.0.0.1 (data: and blob: URLs never leave the page). */
function outsideRequests(requests: NetworkRequest[]): string[] {
  return requests
    .map((request) => request.url)
    .filter((url) => {
      const parsed = new URL(url)
      if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return false
      return parsed.hostname !== '127.0.0.1'
    })
}

function shortfalls(lhr: LighthouseResult): string[] {
  const found: string[] = []
  for (const [id, category] of Object.entries(lhr.categories)) {
    for (const ref of category.auditRefs) {
      const audit = lhr.audits[ref.id]
      if (!audit || audit.score === null) continue
      if (audit.scoreDisplayMode === 'notApplicable' || audit.scoreDisplayMode === 'informative' || audit.scoreDisplayMode === 'manual') continue
      // Performance metrics and opportunities rarely reach exactly 1: list those below 0.9.
      const threshold = id === 'performance' ? 0.9 : 1
      if (audit.score < threshold) found.push(`${id}/${ref.id} (${audit.score}${audit.displayValue ? `, ${audit.displayValue}` : ''})`)
    }
  }
  return found
}

/** The gzipped body alone, without the response headers Lighthouse's transfer size includes. */
function gzipBodyBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (response) => {
        let bytes = 0
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length
        })
        response.on('end', () => (response.statusCode === 200 ? resolve(bytes) : reject(new Error(`GET ${url} answered ${response.statusCode}`))))
        response.on('error', reject)
      })
      .on('error', reject)
  })
}

async function lighthouseOnce(baseUrl: string, pagePath: string, run: number): Promise<PageRun> {
  const chrome = await chromeLauncher.launch({ chromePath: CHROMIUM_PATH, chromeFlags: CHROME_FLAGS, logLevel: 'error' })
  try {
    const result = await lighthouse(`${baseUrl}${pagePath}`, {
      port: chrome.port,
      output: ['json', 'html'],
      logLevel: 'error',
      // Nothing leaves the machine anyway; the full-page screenshot only makes the reports large.
      disableFullPageScreenshot: true,
    })
    if (!result) throw new Error(`Lighthouse returned nothing for ${pagePath}`)
    const { lhr } = result
    if (lhr.runtimeError) throw new Error(`Lighthouse on ${pagePath}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`)

    const slug = pagePath === '/' ? 'home' : pagePath.replace(/^\//, '').replace(/[^a-z0-9]+/gi, '-')
    const reportBase = path.join(REPORTS, `${slug}-run${run}`)
    const [json, html] = result.report as string[]
    await writeFile(`${reportBase}.report.json`, json!)
    await writeFile(`${reportBase}.report.html`, html!)

    const requests = networkRequests(lhr)
    const outside = outsideRequests(requests)
    if (outside.length > 0) throw new Error(`${pagePath} asked for something outside 127.0.0.1:\n${outside.join('\n')}`)
    const ofType = (type: string) => requests.filter((request) => request.resourceType === type)
    const sum = (items: NetworkRequest[], key: 'transferSize' | 'resourceSize') => items.reduce((total, item) => total + (item[key] ?? 0), 0)
    const scripts = ofType('Script')
    const styles = ofType('Stylesheet')
    const jsGzipBody = (await Promise.all(scripts.map((script) => gzipBodyBytes(script.url)))).reduce((total, bytes) => total + bytes, 0)

    return {
      path: pagePath,
      run,
      scores: {
        performance: score(lhr, 'performance'),
        accessibility: score(lhr, 'accessibility'),
        bestPractices: score(lhr, 'best-practices'),
        seo: score(lhr, 'seo'),
      },
      metrics: {
        fcpMs: numeric(lhr, 'first-contentful-paint'),
        lcpMs: numeric(lhr, 'largest-contentful-paint'),
        tbtMs: numeric(lhr, 'total-blocking-time'),
        cls: numeric(lhr, 'cumulative-layout-shift'),
        speedIndexMs: numeric(lhr, 'speed-index'),
      },
      bytes: {
        jsTransfer: sum(scripts, 'transferSize'),
        jsGzipBody,
        jsDecoded: sum(scripts, 'resourceSize'),
        jsRequests: scripts.length,
        cssTransfer: sum(styles, 'transferSize'),
        cssDecoded: sum(styles, 'resourceSize'),
        cssRequests: styles.length,
        totalTransfer: sum(requests, 'transferSize'),
      },
      shortfalls: shortfalls(lhr),
      reportBase,
    }
  } finally {
    chrome.kill()
  }
}

function medianRun(runs: PageRun[]): PageRun {
  const sorted = [...runs].sort((a, b) => a.scores.performance - b.scores.performance || a.metrics.lcpMs - b.metrics.lcpMs)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

const kb = (bytes: number) => (bytes / 1000).toFixed(1)
const ms = (value: number) => Math.round(value)

async function main() {
  log(process.env.BENCH_SKIP_BUILD ? 'BENCH_SKIP_BUILD is set: using the existing build' : 'building for production (npm run build)')
  const built = await buildForProduction()
  await mkdir(REPORTS, { recursive: true })

  const folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-lighthouse-'))
  addCleanUp(`remove ${folder}`, () => rm(folder, { recursive: true, force: true }))

  const port = await getPort({ host: '127.0.0.1' })
  log(`starting the production server on port ${port} with a fresh embedded database and the demo data`)
  const server: RunningServer = await startAppServer({
    port,
    env: {
      // As tests/e2e/setup/production-server.ts: the production build, with NODE_ENV=test so that
      // without Stripe or Resend keys nothing leaves the machine.
      NODE_ENV: 'test',
      DATABASE_URL: '',
      PGLITE_DIR: path.join(folder, 'pglite'),
      APP_URL: `http://127.0.0.1:${port}`,
      SESSION_SECRET: randomBytes(32).toString('hex'),
      SEED_ON_START: 'true',
      // Nothing is queued; a polling worker would only add noise to the measurements.
      WORKER_IN_PROCESS: 'false',
      LOG_LEVEL: 'warn',
    },
  })
  addCleanUp('stop the production server (SIGTERM)', () => server.stop())

  // Warm up: the first render of each page (JIT, cold database pages) is not what a visitor sees.
  for (const pagePath of PAGES) {
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${server.baseUrl}${pagePath}`)
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`GET ${pagePath} answered ${response.status}:\n${server.output()}`)
    }
  }

  const runsByPage = new Map<string, PageRun[]>()
  for (const pagePath of PAGES) {
    const runs: PageRun[] = []
    for (let run = 1; run <= RUNS; run++) {
      if (interrupted()) throw new Error('Interrupted')
      log(`${pagePath}: run ${run} of ${RUNS}`)
      const result = await lighthouseOnce(server.baseUrl, pagePath, run)
      log(
        `  performance ${result.scores.performance}, accessibility ${result.scores.accessibility}, best practices ${result.scores.bestPractices}, SEO ${result.scores.seo}; ` +
          `JS ${kb(result.bytes.jsTransfer)} kB, CSS ${kb(result.bytes.cssTransfer)} kB`,
      )
      runs.push(result)
    }
    runsByPage.set(pagePath, runs)
  }

  const medians = [...runsByPage.values()].map(medianRun)
  const load = os.loadavg().map((value) => value.toFixed(1)).join(' / ')
  console.log(
    `\nLighthouse 12.2.3, default config (mobile, simulated throttling), ${CHROMIUM_PATH}; production build (${built === 'built' ? 'built now' : 'existing build, BENCH_SKIP_BUILD'}), ` +
      `embedded database with the demo data. Median of ${RUNS} run(s) per page by performance score. kB = 1,000 bytes: on the wire (gzip, with ` +
      `response headers, Lighthouse's transfer size), the gzipped bodies alone, and decoded. ` +
      `Load average at the end (1/5/15 min, ${os.cpus().length} cores): ${load}.`,
  )
  console.table(
    medians.map((page) => ({
      page: page.path,
      performance: page.scores.performance,
      accessibility: page.scores.accessibility,
      'best practices': page.scores.bestPractices,
      SEO: page.scores.seo,
      'JS kB (wire / gzip bodies / decoded)': `${kb(page.bytes.jsTransfer)} / ${kb(page.bytes.jsGzipBody)} / ${kb(page.bytes.jsDecoded)} (${page.bytes.jsRequests} files)`,
      'CSS kB (gzip / decoded)': `${kb(page.bytes.cssTransfer)} / ${kb(page.bytes.cssDecoded)} (${page.bytes.cssRequests} files)`,
      'total kB': kb(page.bytes.totalTransfer),
    })),
  )
  console.table(
    medians.map((page) => ({
      page: page.path,
      'FCP ms': ms(page.metrics.fcpMs),
      'LCP ms': ms(page.metrics.lcpMs),
      'TBT ms': ms(page.metrics.tbtMs),
      CLS: page.metrics.cls.toFixed(3),
      'Speed Index ms': ms(page.metrics.speedIndexMs),
      'all runs (perf/a11y/bp/seo)': (runsByPage.get(page.path) ?? [])
        .map((run) => `${run.scores.performance}/${run.scores.accessibility}/${run.scores.bestPractices}/${run.scores.seo}`)
        .join(', '),
    })),
  )

  let allMet = true
  for (const page of medians) {
    const misses: string[] = []
    if (page.scores.performance < TARGETS.performance) misses.push(`performance ${page.scores.performance} < ${TARGETS.performance}`)
    if (page.scores.accessibility < TARGETS.accessibility) misses.push(`accessibility ${page.scores.accessibility} < ${TARGETS.accessibility}`)
    if (page.scores.bestPractices < TARGETS.bestPractices) misses.push(`best practices ${page.scores.bestPractices} < ${TARGETS.bestPractices}`)
    if (page.scores.seo < TARGETS.seo) misses.push(`SEO ${page.scores.seo} < ${TARGETS.seo}`)
    if (page.bytes.jsGzipBody >= TARGETS.javascriptGzipBytes) {
      misses.push(`JavaScript ${kb(page.bytes.jsGzipBody)} kB gzipped (${kb(page.bytes.jsTransfer)} kB on the wire) >= ${kb(TARGETS.javascriptGzipBytes)} kB`)
    }
    if (misses.length > 0) allMet = false
    console.log(`${page.path}: ${misses.length === 0 ? 'targets met' : `BELOW TARGET: ${misses.join('; ')}`}`)
    if (page.shortfalls.length > 0) console.log(`  audits below full marks: ${page.shortfalls.join(', ')}`)
    console.log(`  report: ${path.relative(process.cwd(), page.reportBase)}.report.html`)
  }
  console.log(
    `Targets per page: performance >= ${TARGETS.performance}, accessibility ${TARGETS.accessibility}, best practices >= ${TARGETS.bestPractices}, ` +
      `SEO >= ${TARGETS.seo}, JavaScript under ${kb(TARGETS.javascriptGzipBytes)} kB gzipped — ${allMet ? 'all met' : 'NOT ALL MET'}`,
  )
}

await runBenchmark('bench:lighthouse', main)
