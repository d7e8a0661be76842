/**
 * Reads a QR code from camera frames, in the browser, on the main thread (docs/decisions/029).
 *
 * The browser's own BarcodeDetector is used where it exists and reads QR codes (Chrome on Android
 * and macOS, Safari); elsewhere jsQR, a plain-JavaScript decoder bundled with the app and fetched
 * from our own origin only when staff first press "Scan with camera". Popular scanner libraries
 * start a Web Worker from a blob: URL, which our `worker-src 'none'` forbids; a phone decodes a
 * 640-pixel frame on the main thread in a few milliseconds, a few times a second, which is plenty.
 * This is the only file that imports jsqr.
 */

import type jsQRFunction from 'jsqr'

type JsQr = typeof jsQRFunction

/** Pixels in the shape jsQR and `ImageData` share. */
export type Pixels = { data: Uint8ClampedArray; width: number; height: number }

/** The text of a QR code in these pixels, or null when none is read. */
export async function decodeQrPixels(pixels: Pixels): Promise<string | null> {
  const jsQR = await loadJsQr()
  const code = jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: 'dontInvert' })
  return code?.data ? code.data : null
}

let jsQrModule: Promise<JsQr> | null = null
function loadJsQr() {
  jsQrModule ??= import('jsqr').then((module) => {
    // A CommonJS package: the function is the module's default (or, bundled differently, the module).
    const loaded = module as unknown as { default?: unknown }
    return (typeof loaded.default === 'function' ? loaded.default : loaded) as JsQr
  })
  return jsQrModule
}

type DetectedBarcode = { rawValue: string }
type BarcodeDetectorLike = { detect(source: CanvasImageSource): Promise<DetectedBarcode[]> }
type BarcodeDetectorClass = {
  new (options: { formats: string[] }): BarcodeDetectorLike
  getSupportedFormats?: () => Promise<string[]>
}

/** The browser's BarcodeDetector, if it has one that reads QR codes. */
async function nativeDetector(): Promise<BarcodeDetectorLike | null> {
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector
  if (!Detector) return null
  try {
    const formats = (await Detector.getSupportedFormats?.()) ?? ['qr_code']
    return formats.includes('qr_code') ? new Detector({ formats: ['qr_code'] }) : null
  } catch {
    return null
  }
}

/** The longest side a frame is scaled to before jsQR reads it: enough for a code held near. */
const MAX_FRAME_SIDE = 640

export type FrameReader = { read(video: HTMLVideoElement): Promise<string | null>; kind: 'native' | 'jsqr' }

/** Something that reads the QR code in a video's current frame; prepared once per scanning session. */
export async function createFrameReader(): Promise<FrameReader> {
  const detector = await nativeDetector()
  if (detector) {
    return {
      kind: 'native',
      async read(video) {
        const [first] = await detector.detect(video)
        return first?.rawValue || null
      },
    }
  }
  await loadJsQr()
  const canvas = document.createElement('canvas')
  const context = canvas.getContext('2d', { willReadFrequently: true })
  return {
    kind: 'jsqr',
    async read(video) {
      if (!context || !video.videoWidth || !video.videoHeight) return null
      const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight))
      const width = Math.round(video.videoWidth * scale)
      const height = Math.round(video.videoHeight * scale)
      if (canvas.width !== width) canvas.width = width
      if (canvas.height !== height) canvas.height = height
      context.drawImage(video, 0, 0, width, height)
      return decodeQrPixels(context.getImageData(0, 0, width, height))
    },
  }
}
