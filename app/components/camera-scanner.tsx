import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react'
import { createFrameReader, type FrameReader } from './qr-decoder.ts'

/**
 * "Scan with camera" for the check-in page: the phone's camera, a QR code read in the page
 * (qr-decoder.ts), and each code read handed to `onCode`, which submits it through the same form
 * as a typed code. It appears only with JavaScript and a browser that has a camera API; without
 * them the page's typed code and name search are unchanged. Only the check-in page's
 * Permissions-Policy allows the camera (app/utils/security-headers.server.ts).
 */

type Props = {
  /** A code was read: submit it. */
  onCode: (code: string) => void
  /** The camera started or stopped (the page keeps focus off the code field while it runs). */
  onActiveChange?: (active: boolean) => void
}

type Status = { text: string; problem?: boolean }

/** How often a frame is read: a few times a second keeps a phone cool and still feels instant. */
const READ_EVERY_MS = 200
/** The same code is sent again only after it has been out of sight this long (the same person, still in front of the camera, is not). */
const SAME_CODE_PAUSE_MS = 3_000
/** After any code is read, a moment for the answer to show before the next. */
const ANY_CODE_PAUSE_MS = 1_500

const READY = 'Camera on. Hold a check-in QR code in front of it.'

/** Set before reloading a page whose document did not allow the camera, so it starts on return. */
const START_AFTER_RELOAD = 'sanad-check-in-camera'

export function CameraScanner({ onCode, onActiveChange }: Props) {
  // False on the server and in browsers without a camera API (or outside a secure context).
  const supported = useSyncExternalStore(neverChanges, hasCameraApi, () => false)
  const [active, setActive] = useState(false)
  const [status, setStatus] = useState<Status | null>(null)
  const video = useRef<HTMLVideoElement>(null)
  const stream = useRef<MediaStream | null>(null)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const session = useRef(0)
  const onCodeRef = useRef(onCode)
  const onActiveRef = useRef(onActiveChange)
  useEffect(() => {
    onCodeRef.current = onCode
    onActiveRef.current = onActiveChange
  })

  const stopCamera = useCallback((message: Status | null) => {
    session.current += 1
    if (timer.current) clearTimeout(timer.current)
    timer.current = null
    stream.current?.getTracks().forEach((track) => track.stop())
    stream.current = null
    if (video.current) video.current.srcObject = null
    setActive(false)
    onActiveRef.current?.(false)
    setStatus(message)
  }, [])

  const startCamera = useCallback(async (afterReload = false) => {
    // A page reached by following a link inside the app keeps the policy of the page it started
    // on, which forbids the camera: load this page afresh, with its own policy, and start then
    // (once: a page whose own policy forbids it says so instead).
    if (!cameraAllowedByPolicy()) {
      if (afterReload) return stopCamera({ text: cameraProblem(new DOMException('camera', 'NotAllowedError')), problem: true })
      sessionStorage.setItem(START_AFTER_RELOAD, '1')
      window.location.reload()
      return
    }
    const mine = ++session.current
    setStatus({ text: 'Starting the camera…' })
    let reader: FrameReader
    let media: MediaStream
    try {
      ;[reader, media] = await Promise.all([
        createFrameReader(),
        navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false }),
      ])
    } catch (error) {
      if (mine === session.current) stopCamera({ text: cameraProblem(error), problem: true })
      return
    }
    if (mine !== session.current || !video.current) {
      media.getTracks().forEach((track) => track.stop())
      return
    }
    stream.current = media
    video.current.srcObject = media
    try {
      await video.current.play()
    } catch {
      // Autoplay rules cannot refuse a muted, inline video started from a tap; if one does, frames still arrive.
    }
    setActive(true)
    onActiveRef.current?.(true)
    setStatus({ text: READY })

    let last = { code: '', at: 0, seenAt: 0 }
    const tick = async () => {
      if (mine !== session.current) return
      let code: string | null = null
      try {
        if (video.current && video.current.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) code = await reader.read(video.current)
      } catch {
        code = null
      }
      if (mine !== session.current) return
      const now = Date.now()
      const same = code !== null && code === last.code
      const wait = same ? now - last.seenAt <= SAME_CODE_PAUSE_MS : now - last.at <= ANY_CODE_PAUSE_MS
      if (same) last.seenAt = now
      if (code && !wait) {
        last = { code, at: now, seenAt: now }
        setStatus({ text: 'Code read. Checking in…' })
        onCodeRef.current(code)
        setTimeout(() => mine === session.current && setStatus({ text: READY }), ANY_CODE_PAUSE_MS)
      }
      timer.current = setTimeout(tick, READ_EVERY_MS)
    }
    timer.current = setTimeout(tick, READ_EVERY_MS)
  }, [stopCamera])

  useEffect(() => {
    let resume: ReturnType<typeof setTimeout> | undefined
    if (sessionStorage.getItem(START_AFTER_RELOAD)) {
      sessionStorage.removeItem(START_AFTER_RELOAD)
      resume = setTimeout(() => void startCamera(true), 0)
    }
    return () => {
      clearTimeout(resume)
      session.current += 1
      if (timer.current) clearTimeout(timer.current)
      stream.current?.getTracks().forEach((track) => track.stop())
    }
  }, [startCamera])

  if (!supported) return null
  return (
    <div className="camera-scanner">
      {active ? (
        <button type="button" className="button button--secondary" onClick={() => stopCamera({ text: 'Camera stopped.' })}>
          Stop the camera
        </button>
      ) : (
        <button type="button" className="button button--secondary" onClick={() => void startCamera()}>
          Scan with camera
        </button>
      )}
      <p id="camera-status" role="status" aria-live="polite" className={status?.problem ? 'camera-scanner__status field-error' : 'camera-scanner__status'}>
        {status?.text ?? ''}
      </p>
      <video
        ref={video}
        className="camera-scanner__video"
        aria-label="Camera view for scanning check-in QR codes"
        aria-describedby="camera-status"
        muted
        playsInline
        hidden={!active}
      />
    </div>
  )
}

const neverChanges = () => () => {}
const hasCameraApi = () => Boolean(navigator.mediaDevices?.getUserMedia)

/** Whether this document's Permissions-Policy lets it ask for the camera (Chromium tells; others are asked). */
function cameraAllowedByPolicy(): boolean {
  const policy = (document as { permissionsPolicy?: { allowsFeature(name: string): boolean }; featurePolicy?: { allowsFeature(name: string): boolean } })
  const check = policy.permissionsPolicy ?? policy.featurePolicy
  return check ? check.allowsFeature('camera') : true
}

/** What staff are told when the camera cannot start, and what to do instead. */
export function cameraProblem(error: unknown): string {
  const name = error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException) ? error.name : ''
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'The camera is not allowed. Allow this site to use the camera in your browser’s settings, then press “Scan with camera” again; or type the code.'
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') {
    return 'No camera was found on this device. Type the code, or find the person by name.'
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return 'The camera is in use by another app or could not start. Close that app and try again, or type the code.'
  }
  return 'The camera could not start. Type the code, or find the person by name.'
}
