import net from 'node:net'

/** What came back on one connection that sent a body, and how much of the body got onto it. */
export type BodySent = { answer: string; sent: number; seconds: number }

/**
 * An uploading client as a test or the benchmark needs one: opens a connection, writes `head`,
 * then writes `piece` again and again, as fast as the socket takes it, until `maxBytes` are sent
 * (then `last`, if given), the connection ends or is reset, `timeoutMs` pass, or, with
 * `untilAnswered`, the head of an answer has arrived. Reads whatever comes back all along, as a
 * browser or curl does while uploading; `yieldEveryBytes` lets it read between writes as an
 * uploader held back by its network does (on loopback a write loop can otherwise hand the kernel
 * tens of megabytes before it looks at what came back). No vitest here: the benchmark runs it
 * outside the runner.
 */
export function sendBody(options: {
  port: number
  host: string
  head: string
  piece: Buffer
  maxBytes: number
  untilAnswered: boolean
  last?: string
  timeoutMs?: number
  yieldEveryBytes?: number
}): Promise<BodySent> {
  return new Promise((resolve) => {
    const socket = net.connect(options.port, options.host)
    const started = performance.now()
    let answer = ''
    let sent = 0
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ answer, sent, seconds: (performance.now() - started) / 1000 })
    }
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(finish, options.timeoutMs)
    socket.on('data', (data) => {
      answer += data.toString('latin1')
      if (options.untilAnswered && answer.includes('\r\n\r\n')) finish()
    })
    socket.on('error', finish)
    socket.on('close', finish)
    socket.write(options.head)
    const pump = () => {
      let sinceYield = 0
      while (!done && sent < options.maxBytes) {
        sent += options.piece.length
        sinceYield += options.piece.length
        if (!socket.write(options.piece)) return void socket.once('drain', pump)
        if (options.yieldEveryBytes && sinceYield >= options.yieldEveryBytes) return void setImmediate(pump)
      }
      if (!done && options.last) socket.write(options.last)
    }
    pump()
  })
}

/** The first line of an answer (its status line), or '' when none came. */
export function statusLineOf(answer: string): string {
  const end = answer.indexOf('\r\n')
  return end === -1 ? '' : answer.slice(0, end)
}
