/**
 * `npm run bench:photos`: what an appeal photo upload costs and saves. A 12-megapixel phone JPEG
 * (4032×3024, textured like a photo so it does not compress to nothing) goes through the upload's
 * own check: metadata stripped, scaled to 1,600 pixels, stripped again. Prints the bytes before
 * and after, the time per photo and the process's peak memory.
 */
import { performance } from 'node:perf_hooks'
import sharp from 'sharp'
import { positiveInteger } from './bench-env.ts'
import { checkPhoto } from '#app/modules/appeals/photos/upload.server.ts'

const RUNS = positiveInteger('BENCH_PHOTO_RUNS', 10)
const WIDTH = 4032
const HEIGHT = 3024

function texturedPixels() {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3)
  // A fixed sequence, so every run measures the same photo.
  let seed = 42
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return (seed / 2_147_483_648) * 30
  }
  for (let y = 0; y < HEIGHT; y += 1) {
    for (let x = 0; x < WIDTH; x += 1) {
      const at = (y * WIDTH + x) * 3
      const shade = (Math.sin(x / 37) + Math.cos(y / 23)) * 40 + noise()
      pixels[at] = 120 + shade
      pixels[at + 1] = 90 + shade / 2
      pixels[at + 2] = 60 + shade / 3
    }
  }
  return pixels
}

const photo = await sharp(texturedPixels(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).jpeg({ quality: 92 }).toBuffer()
// One run to load libvips before timing.
await checkPhoto({ kind: 'file', bytes: photo })

const times: number[] = []
let stored = 0
for (let run = 0; run < RUNS; run += 1) {
  const started = performance.now()
  const { photo: checked, error } = await checkPhoto({ kind: 'file', bytes: photo })
  times.push(performance.now() - started)
  if (!checked) throw new Error(`The photo was refused: ${error}`)
  stored = checked.bytes.byteLength
}
times.sort((a, b) => a - b)
const { width, height } = await sharp(Buffer.from((await checkPhoto({ kind: 'file', bytes: photo })).photo!.bytes)).metadata()

console.log(`photo: ${WIDTH}×${HEIGHT} JPEG, ${(photo.length / 1_000_000).toFixed(2)} MB`)
console.log(`stored: ${width}×${height}, ${(stored / 1_000).toFixed(0)} kB (${((stored / photo.length) * 100).toFixed(1)}% of the upload)`)
console.log(`time per photo over ${RUNS} runs: median ${times[Math.floor(RUNS / 2)]!.toFixed(0)} ms, slowest ${times.at(-1)!.toFixed(0)} ms`)
console.log(`peak resident memory: ${(process.resourceUsage().maxRSS / 1_000).toFixed(0)} MB`)
