import sharp from 'sharp'

/**
 * The one module that decodes images (sharp, with libvips). A phone photo is 3 to 5 MB and
 * 4,000 pixels across; the appeal page shows it at most 960 CSS pixels wide. Supporters on a
 * slow or metered connection, often where the beneficiary's family lives, should not pay for the
 * difference, so a larger photo is scaled down once, at upload.
 */

/** The long edge a stored photo keeps at most: the page's 960 pixels at twice the density, and some. */
export const PHOTO_MAX_EDGE = 1600
/** More pixels than any phone takes (48 MP); a small file declaring more is a decompression bomb. */
export const PHOTO_MAX_PIXELS = 50_000_000

// Each upload is decoded once; a cache would only hold memory between them.
sharp.cache(false)

type Format = 'jpg' | 'png' | 'webp'

export type FittedPhoto = { kind: 'kept' } | { kind: 'scaled'; bytes: Buffer; width: number; height: number } | { kind: 'too-many-pixels' } | { kind: 'unreadable' }

/**
 * The photo as it should be stored: unchanged when it already fits (or is animated, which
 * scaling would flatten to one frame, or scaling would not make the file smaller), else scaled
 * to fit PHOTO_MAX_EDGE, turned upright by its EXIF Orientation, in its own format and without
 * any metadata. Only the header is read before the pixel count is checked, so a bomb is refused
 * before it is decoded.
 */
export async function fitPhoto(bytes: Uint8Array, format: Format): Promise<FittedPhoto> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let width: number
  let height: number
  let pages: number
  try {
    const header = await sharp(input).metadata()
    if (!header.width || !header.height) return { kind: 'unreadable' }
    width = header.width
    height = header.height
    pages = header.pages ?? 1
  } catch {
    return { kind: 'unreadable' }
  }
  // One frame's pixels: an animation is never decoded here, so its length is no risk to us.
  if (width * height > PHOTO_MAX_PIXELS) return { kind: 'too-many-pixels' }
  if (pages > 1 || Math.max(width, height) <= PHOTO_MAX_EDGE) return { kind: 'kept' }
  try {
    const scaled = sharp(input, { limitInputPixels: PHOTO_MAX_PIXELS, failOn: 'error' })
      // Turned by its Orientation first, so the long edge is measured the way it is seen.
      .rotate()
      .resize({ width: PHOTO_MAX_EDGE, height: PHOTO_MAX_EDGE, fit: 'inside', withoutEnlargement: true })
    const encoded =
      format === 'jpg'
        ? scaled.jpeg({ quality: 82, mozjpeg: true })
        : format === 'png'
          ? scaled.png({ compressionLevel: 9, adaptiveFiltering: true })
          : scaled.webp({ quality: 82 })
    // sharp writes no metadata unless asked (keepMetadata, withExif and the like), and the colours are converted to sRGB.
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true })
    // A few colours or a low quality can make the smaller picture the larger file (a palette PNG
    // comes back in full colour): then the upload as it was costs visitors less.
    if (data.length >= input.length) return { kind: 'kept' }
    return { kind: 'scaled', bytes: data, width: info.width, height: info.height }
  } catch {
    return { kind: 'unreadable' }
  }
}
