import { exifOrientation, orientationOnlyApp1 } from '#app/modules/appeals/photos/exif-orientation.server.ts'
import { type ImageType } from '#app/modules/appeals/photos/upload.server.ts'


/**
 * The image without anything a camera or phone adds beside the pixels: EXIF (with the place a
 * photo was taken), XMP, comments, provenance manifests, second images and videos appended after
 * the picture. A beneficiary's whereabouts must not leak through a photo. Only what a decoder
 * needs is kept (an allow-list, so a format we have not heard of is dropped, not kept), pixels
 * are untouched, and null means the file's structure could not be followed.
 */
export function withoutMetadata(bytes: Uint8Array, type: ImageType): Uint8Array | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (type.extension === 'jpg') return jpegWithoutMetadata(buffer)
  if (type.extension === 'png') return pngWithoutMetadata(buffer)
  return webpWithoutMetadata(buffer)
}

const startsWithText = (data: Buffer, text: string) => data.subarray(0, text.length).equals(Buffer.from(text, 'latin1'))

/** Frame headers (SOF0-15); C4, C8 and CC share the range but are other things. */
const isFrameHeader = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
/** Tables the decoder reads: Huffman, arithmetic conditioning, quantisation, line count, restart interval. */
const JPEG_TABLES = new Set([0xc4, 0xcc, 0xdb, 0xdc, 0xdd])
const JPEG_EOI = Buffer.from([0xff, 0xd9])

/**
 * Keeps the tables, the frame header and the scans, and stops at the end-of-image marker that
 * closes the last scan: a Motion Photo's video, or the second images of a multi-picture file,
 * come after it and are dropped with it. Between progressive scans the segments are read again,
 * so an APPn there goes too.
 */
function jpegWithoutMetadata(bytes: Buffer): Buffer | null {
  const kept: Buffer[] = [bytes.subarray(0, 2)]
  let at = 2
  let frame = false
  let scanned = false
  let orientation: number | null | undefined
  for (;;) {
    if (bytes[at] !== 0xff) return null
    while (bytes[at] === 0xff) at += 1 // fill bytes before a marker
    if (at >= bytes.length) return null
    const marker = bytes[at]!
    if (marker === 0xd9) {
      if (!scanned) return null
      kept.push(JPEG_EOI)
      // After SOI and JFIF's header, where readers look for EXIF.
      if (orientation) kept.splice(kept[1]?.[1] === 0xe0 ? 2 : 1, 0, orientationOnlyApp1(orientation))
      return Buffer.concat(kept)
    }
    // A second SOI, a restart marker outside a scan, TEM or a stuffed zero: not a file we can follow.
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) return null
    if (at + 3 > bytes.length) return null
    const length = bytes.readUInt16BE(at + 1)
    const end = at + 1 + length
    if (length < 2 || end > bytes.length) return null
    const segment = bytes.subarray(at - 1, end)
    const data = bytes.subarray(at + 3, end)
    at = end

    if (marker === 0xda) {
      if (!frame) return null
      kept.push(segment)
      const scanEnd = entropyCodedEnd(bytes, at)
      if (scanEnd === null) return null
      kept.push(bytes.subarray(at, scanEnd))
      at = scanEnd
      scanned = true
    } else if (isFrameHeader(marker)) {
      // One frame per image; a second one is a hierarchical or spliced file.
      if (frame) return null
      frame = true
      kept.push(segment)
    } else if (JPEG_TABLES.has(marker)) {
      kept.push(segment)
    } else if (marker === 0xe0) {
      // JFIF's header says how to read the colours; its optional thumbnail (which may show the
      // picture before it was cropped) goes, so the header is rewritten without it.
      if (startsWithText(data, 'JFIF\0') && data.length >= 14) {
        kept.push(Buffer.concat([Buffer.from([0xff, 0xe0, 0x00, 0x10]), data.subarray(0, 12), Buffer.from([0, 0])]))
      }
    } else if (marker === 0xe1) {
      // Only the first EXIF before the picture is the picture's; only its Orientation is kept.
      if (orientation === undefined && !frame && startsWithText(data, 'Exif\0\0')) orientation = exifOrientation(data)
    } else if (marker === 0xe2) {
      if (startsWithText(data, 'ICC_PROFILE\0')) kept.push(segment)
    } else if (marker === 0xee) {
      // Adobe's fixed seven bytes say whether the colours are RGB, YCbCr or CMYK; without them
      // such files decode with the wrong colours. Nothing else fits in them.
      if (startsWithText(data, 'Adobe') && data.length === 12) kept.push(segment)
    } else if (!((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe)) {
      // Every other APPn and COM is dropped; any other marker is one we cannot vouch for.
      return null
    }
  }
}

/**
 * Where a scan's compressed data ends: at the first marker in it. 0xFF is followed by 0x00 when
 * it is a data byte, and restart markers (D0-D7) belong to the scan; anything else ends it.
 */
function entropyCodedEnd(bytes: Buffer, from: number): number | null {
  let at = from
  for (;;) {
    const ff = bytes.indexOf(0xff, at)
    if (ff === -1 || ff + 1 >= bytes.length) return null
    const next = bytes[ff + 1]!
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) at = ff + 2
    else if (next === 0xff) at = ff + 1
    else return ff
  }
}

/** Critical chunks, and the ancillary ones that change how the pixels look: colour, transparency, size. */
const PNG_KEPT_CHUNKS = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'pHYs'])

/** Keeps the chunks above and stops after IEND: text, EXIF, dates and anything appended go. */
function pngWithoutMetadata(bytes: Buffer): Buffer | null {
  const kept: Buffer[] = [bytes.subarray(0, 8)]
  let at = 8
  while (at + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(at)
    const end = at + 12 + length
    if (end > bytes.length) return null
    const name = bytes.subarray(at + 4, at + 8).toString('latin1')
    if (at === 8 && name !== 'IHDR') return null
    if (PNG_KEPT_CHUNKS.has(name)) kept.push(bytes.subarray(at, end))
    // An unknown critical chunk (upper-case first letter) means a decoder could not show it either.
    else if (/^[A-Z]/.test(name)) return null
    at = end
    if (name === 'IEND') return Buffer.concat(kept)
  }
  return null
}

/** Image data, transparency, animation and the colour profile: no EXIF, no XMP, nothing unknown. */
const WEBP_KEPT_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF', 'ICCP'])
const WEBP_IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X'])
/** An animation frame holds its own chunks after a 16-byte header: only its pixels stay. */
const WEBP_FRAME_CHUNKS = new Set(['VP8 ', 'VP8L', 'ALPH'])
const WEBP_FRAME_HEADER = 16

/** Keeps the chunks above within the RIFF's own size (bytes after it go) and rewrites that size. */
function webpWithoutMetadata(bytes: Buffer): Buffer | null {
  const riffEnd = 8 + bytes.readUInt32LE(4)
  if (riffEnd > bytes.length) return null
  const chunks = webpChunks(bytes.subarray(12, riffEnd), WEBP_KEPT_CHUNKS)
  if (!chunks?.some(({ name }) => WEBP_IMAGE_CHUNKS.has(name))) return null
  const kept: Buffer[] = []
  for (const { name, data } of chunks) {
    let payload = data
    if (name === 'VP8X' && data.length > 0) {
      // The extended header's flags say which optional chunks follow: no EXIF (8), no XMP (4).
      payload = Buffer.from(data)
      payload[0] = payload[0]! & ~0x0c
    } else if (name === 'ANMF') {
      if (data.length < WEBP_FRAME_HEADER) return null
      const frame = webpChunks(data.subarray(WEBP_FRAME_HEADER), WEBP_FRAME_CHUNKS)
      if (!frame) return null
      payload = Buffer.concat([data.subarray(0, WEBP_FRAME_HEADER), ...frame.map((chunk) => webpChunk(chunk.name, chunk.data))])
    }
    kept.push(webpChunk(name, payload))
  }
  const body = Buffer.concat(kept)
  const header = Buffer.from(bytes.subarray(0, 12))
  header.writeUInt32LE(body.length + 4, 4)
  return Buffer.concat([header, body])
}

/** The chunks in `bytes` whose names are in `keep`; null when a chunk runs past the end. */
function webpChunks(bytes: Buffer, keep: Set<string>): { name: string; data: Buffer }[] | null {
  const chunks: { name: string; data: Buffer }[] = []
  let at = 0
  while (at + 8 <= bytes.length) {
    const name = bytes.subarray(at, at + 4).toString('latin1')
    const size = bytes.readUInt32LE(at + 4)
    const end = at + 8 + size
    if (end > bytes.length) return null
    if (keep.has(name)) chunks.push({ name, data: bytes.subarray(at + 8, end) })
    at = end + (size % 2)
  }
  return chunks
}

/** A chunk as written: name, size, data, and a pad byte when the size is odd. */
function webpChunk(name: string, data: Buffer) {
  const size = Buffer.alloc(4)
  size.writeUInt32LE(data.length, 0)
  return Buffer.concat([Buffer.from(name, 'latin1'), size, data, Buffer.alloc(data.length % 2)])
}
