/**
 * A phone often stores a portrait photo's pixels sideways and says "turn me" in EXIF's
 * Orientation tag. Stripping EXIF (which holds where the photo was taken) would show such a
 * photo on its side, so this one number is read out of the EXIF and written back alone.
 */

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1')
const ORIENTATION_TAG = 0x0112
const SHORT = 3

/**
 * The Orientation (2-8) in an APP1 segment's data, or null when it has none, says "as stored"
 * (1), or cannot be followed. Only IFD0 is read: the tag lives there, and nothing else is trusted.
 */
export function exifOrientation(app1Data: Buffer): number | null {
  if (!app1Data.subarray(0, EXIF_HEADER.length).equals(EXIF_HEADER)) return null
  const tiff = app1Data.subarray(EXIF_HEADER.length)
  if (tiff.length < 8) return null
  const order = tiff.toString('latin1', 0, 2)
  if (order !== 'II' && order !== 'MM') return null
  const little = order === 'II'
  const read16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at))
  const read32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at))
  if (read16(2) !== 42) return null
  const ifd = read32(4)
  if (ifd < 8 || ifd + 2 > tiff.length) return null
  const entries = read16(ifd)
  if (ifd + 2 + entries * 12 > tiff.length) return null
  for (let index = 0; index < entries; index += 1) {
    const entry = ifd + 2 + index * 12
    if (read16(entry) !== ORIENTATION_TAG) continue
    if (read16(entry + 2) !== SHORT || read32(entry + 4) !== 1) return null
    const value = read16(entry + 8)
    return value >= 2 && value <= 8 ? value : null
  }
  return null
}

/** An APP1 segment holding nothing but the Orientation, as the smallest valid EXIF (big-endian). */
export function orientationOnlyApp1(orientation: number): Buffer {
  const tiff = Buffer.alloc(26)
  tiff.write('MM', 0, 'latin1')
  tiff.writeUInt16BE(42, 2)
  tiff.writeUInt32BE(8, 4) // IFD0 straight after the header
  tiff.writeUInt16BE(1, 8) // one entry
  tiff.writeUInt16BE(ORIENTATION_TAG, 10)
  tiff.writeUInt16BE(SHORT, 12)
  tiff.writeUInt32BE(1, 14)
  tiff.writeUInt16BE(orientation, 18) // a SHORT sits left-aligned in the four value bytes
  tiff.writeUInt32BE(0, 22) // no IFD1, so no thumbnail
  const data = Buffer.concat([EXIF_HEADER, tiff])
  const length = data.length + 2
  return Buffer.concat([Buffer.from([0xff, 0xe1, length >> 8, length & 0xff]), data])
}
