import QRCode from 'qrcode'
import sharp from 'sharp'
import { expect, test } from 'vitest'
import { decodeQrPixels } from '#app/components/qr-decoder.ts'
import { CHECKIN_QR_OPTIONS } from '#app/modules/registrations/registration-emails.server.ts'
import { signedCheckinCode } from '#app/utils/signed-links.server.ts'

/** An image as the camera hands it over: RGBA pixels. */
async function rgba(image: Buffer, options: { side?: number; padding?: number } = {}) {
  let pipeline = sharp(image)
  if (options.side) pipeline = pipeline.resize(options.side, options.side, { kernel: 'nearest' })
  if (options.padding) pipeline = pipeline.extend({ top: options.padding, bottom: options.padding, left: options.padding * 2, right: options.padding, background: '#ffffff' })
  const { data, info } = await pipeline.ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return { data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height }
}

test('the check-in QR code emailed to a registrant decodes to its signed code (jsQR, where the browser has no BarcodeDetector)', async () => {
  const code = signedCheckinCode('AbCdEfGhIjKlMnOpQrStUvWx')
  const png = await QRCode.toBuffer(code, CHECKIN_QR_OPTIONS)
  expect(await decodeQrPixels(await rgba(png))).toBe(code)
  // Smaller in a larger frame, off centre, as a phone held at a distance sees it.
  expect(await decodeQrPixels(await rgba(png, { side: 180, padding: 120 }))).toBe(code)
})

test('a frame with no QR code reads as nothing', async () => {
  const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#d0d0d0' } }).png().toBuffer()
  expect(await decodeQrPixels(await rgba(blank))).toBeNull()
})
