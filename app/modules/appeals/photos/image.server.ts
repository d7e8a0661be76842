import sharp from 'sharp'

/**
 * The one module that decodes images (sharp, with libvips). Every stored photo is decoded and
 * written again here, rather than having its metadata cut out by a parser of ours: what comes out
 * is only what the encoder writes (pixels, and no EXIF, XMP, IPTC, ICC, comments, thumbnails,
 * second images or appended videos, since sharp writes none unless asked with keepMetadata,
 * withExif and the like), so a place a phone hides a location in that we have never heard of
 * cannot survive. A phone photo is 3 to 5 MB and 4,000 pixels across; the appeal page shows it
 * at most 960 CSS pixels wide, so a larger photo is scaled down in the same pass. Supporters on a
 * slow or metered connection, often where the beneficiary's family lives, should not pay for the
 * difference.
 */

/** The long edge a stored photo keeps at most: the page's 960 pixels at twice the density, and some. */
export const PHOTO_MAX_EDGE = 1600
/** More pixels than any phone takes (48 MP); a small file declaring more is a decompression bomb. */
export const PHOTO_MAX_PIXELS = 50_000_000

// Each upload is decoded once; a cache would only hold memory between them.
sharp.cache(false)

export type ImageFormat = 'jpg' | 'png' | 'webp'
const SHARP_FORMAT: Record<ImageFormat, string> = { jpg: 'jpeg', png: 'png', webp: 'webp' }

export type PreparedImage =
  | { kind: 'ready'; bytes: Buffer; width: number; height: number }
  | { kind: 'too-many-pixels' }
  | { kind: 'unreadable' }

/**
 * The photo as it is stored: upright (its EXIF Orientation applied to the pixels, as the tag
 * itself goes with the rest of the metadata), at most PHOTO_MAX_EDGE on its long edge, its
 * colours converted to sRGB from whatever profile it came with (then dropped), re-encoded in its
 * own format with nothing but the picture. An animation keeps its first frame only: an appeal
 * photo is a still, and decoding every frame would let a small file cost many times the work of
 * one picture. Only the header is read before the pixel count is checked, so a bomb is refused
 * before it is decoded; libvips is held to the same limit in case the header lied.
 */
export async function prepareImage(bytes: Uint8Array, format: ImageFormat): Promise<PreparedImage> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let header: sharp.Metadata
  try {
    header = await sharp(input).metadata()
  } catch {
    return { kind: 'unreadable' }
  }
  // The type was judged by the magic bytes; a file libvips reads as something else is not what it claimed.
  if (header.format !== SHARP_FORMAT[format] || !header.width || !header.height) return { kind: 'unreadable' }
  // One frame's pixels (metadata gives one page's height): only the first frame is ever decoded.
  if (header.width * header.height > PHOTO_MAX_PIXELS) return { kind: 'too-many-pixels' }
  try {
    const scaled = await encode(input, format, header, true)
    // A picture of few colours (a palette PNG) can come back from scaling as the larger file, as
    // blending at every edge makes new colours: then the picture at its own size costs visitors less.
    if (scaled.resized && scaled.data.length > input.length) {
      const whole = await encode(input, format, header, false)
      if (whole.data.length < scaled.data.length) return ready(whole)
    }
    return ready(scaled)
  } catch {
    return { kind: 'unreadable' }
  }
}

const ready = ({ data, info }: { data: Buffer; info: sharp.OutputInfo }): PreparedImage => ({ kind: 'ready', bytes: data, width: info.width, height: info.height })

async function encode(input: Buffer, format: ImageFormat, header: sharp.Metadata, fit: boolean) {
  // failOn 'error' refuses a cut-off file (libjpeg's "premature end") but not the harmless
  // warnings many phones' files raise, which would turn good photos away.
  let image = sharp(input, { limitInputPixels: PHOTO_MAX_PIXELS, failOn: 'error' })
    // Turned first, so the long edge is measured the way the photo is seen.
    .autoOrient()
  if (fit) image = image.resize({ width: PHOTO_MAX_EDGE, height: PHOTO_MAX_EDGE, fit: 'inside', withoutEnlargement: true })
  const palette = format === 'png' && header.isPalette === true
  const encoded =
    format === 'jpg'
      ? image.jpeg({ quality: 82, mozjpeg: true })
      : palette
        ? // A palette PNG (a logo, a chart) stays one, with no more colours than it had room for:
          // in full colour it would come back several times larger.
          image.png({ compressionLevel: 9, palette: true, colours: Math.min(256, Math.max(2, 2 ** (header.bitsPerSample ?? 8))), dither: 0 })
        : format === 'png'
          ? image.png({ compressionLevel: 9, adaptiveFiltering: true })
          : image.webp({ quality: 82 })
  const { data, info } = await encoded.toBuffer({ resolveWithObject: true })
  const orientedWidth = (header.autoOrient?.width ?? header.width)!
  return { data, info, resized: info.width !== orientedWidth }
}

/**
 * A drawing of ours (SVG) as a JPEG: social sites ignore an SVG og:image, so the demo appeals'
 * pictures are kept as JPEGs made from simple shapes (scripts/seed/demo-photos.ts).
 */
export async function renderSvgAsJpeg(svg: string, width: number): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 300 }).resize({ width }).jpeg({ quality: 78, mozjpeg: true }).toBuffer()
}
