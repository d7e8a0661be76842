import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { renderSvgAsJpeg } from '#app/modules/appeals/photos/image.server.ts'

/**
 * The demo appeals' pictures: simple shapes and gradients drawn here (no one else's work), saved
 * as JPEGs in public/images/appeals so share previews show them (social sites ignore SVG). Run
 * `npx tsx scripts/seed/demo-photos.ts` after changing a drawing; the JPEGs are committed.
 */

const WIDTH = 1200 // 1200 × 675: large enough for a share card, 16:9 like the appeal page's frame.

export const demoPhotos: Record<string, string> = {
  'walk-again': `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360">
    <defs>
      <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#f9d9b4"/><stop offset="1" stop-color="#f6e7d7"/></linearGradient>
      <radialGradient id="sun"><stop offset="0" stop-color="#f7c173"/><stop offset="1" stop-color="#e59a4b"/></radialGradient>
      <linearGradient id="field" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#8cb38f"/><stop offset="1" stop-color="#5d8462"/></linearGradient>
    </defs>
    <rect width="640" height="360" fill="url(#sky)"/>
    <circle cx="470" cy="160" r="72" fill="url(#sun)"/>
    <path d="M0 215 Q160 180 320 205 T640 195 V360 H0z" fill="#a9c4a4"/>
    <path d="M0 240 Q200 215 380 235 T640 228 V360 H0z" fill="url(#field)"/>
    <path d="M120 360 C 260 300, 300 265, 470 222" stroke="#f6e7d7" stroke-width="34" fill="none" stroke-linecap="round"/>
  </svg>`,
  'medical-care': `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360">
    <defs>
      <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#eef5f6"/><stop offset="1" stop-color="#cfe0e3"/></linearGradient>
      <linearGradient id="hands" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#d9a27f"/><stop offset="1" stop-color="#b97d59"/></linearGradient>
    </defs>
    <rect width="640" height="360" fill="url(#bg)"/>
    <circle cx="320" cy="190" r="140" fill="#ffffff" opacity="0.5"/>
    <path d="M190 300 q130 -70 260 0 v60 h-260z" fill="url(#hands)"/>
    <path d="M320 262 v-100" stroke="#3f7d4e" stroke-width="8"/>
    <path d="M320 200 q-55 -10 -66 -66 q55 6 66 66z M320 178 q50 -16 60 -72 q-55 11 -60 72z" fill="#4f9a5f"/>
  </svg>`,
  'rebuild-home': `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360">
    <defs>
      <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#9cc7ea"/><stop offset="1" stop-color="#e1eef8"/></linearGradient>
      <linearGradient id="ground" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#c8b48d"/><stop offset="1" stop-color="#a28d66"/></linearGradient>
    </defs>
    <rect width="640" height="360" fill="url(#sky)"/>
    <circle cx="110" cy="80" r="38" fill="#fbe8a6"/>
    <rect y="280" width="640" height="80" fill="url(#ground)"/>
    <rect x="230" y="170" width="180" height="120" fill="#f1ead9"/>
    <path d="M210 175 L320 95 L430 175z" fill="#a63f24"/>
    <rect x="300" y="225" width="40" height="65" fill="#1f4e5f"/>
    <rect x="250" y="195" width="35" height="30" fill="#1f4e5f"/>
    <rect x="355" y="195" width="35" height="30" fill="#1f4e5f"/>
  </svg>`,
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, svg] of Object.entries(demoPhotos)) {
    const file = path.resolve('public/images/appeals', `${name}.jpg`)
    const bytes = await renderSvgAsJpeg(svg, WIDTH)
    await writeFile(file, bytes)
    console.log(`${file}: ${bytes.length} bytes`)
  }
}
