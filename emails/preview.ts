/**
 * `npm run email:preview`: renders every template with its preview props to
 * .cache/email-preview/<name>.html and <name>.txt, plus an index.html linking them all.
 * Nothing is sent and nothing is fetched; open the files in a browser.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { emailTemplateNames, emailTemplates, renderEmail } from '#emails/index.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const outputDir = path.join(root, '.cache', 'email-preview')

function escapeHtml(text: string) {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`)
}

async function main() {
  await mkdir(outputDir, { recursive: true })
  const rows: string[] = []
  for (const name of emailTemplateNames) {
    const { subject, html, text } = await renderEmail(name, emailTemplates[name].previewProps)
    const htmlPath = path.join(outputDir, `${name}.html`)
    const textPath = path.join(outputDir, `${name}.txt`)
    await writeFile(htmlPath, html)
    await writeFile(textPath, `Subject: ${subject}\n\n${text}\n`)
    console.log(path.relative(process.cwd(), htmlPath))
    console.log(path.relative(process.cwd(), textPath))
    rows.push(
      `<li><strong>${escapeHtml(name)}</strong>: ${escapeHtml(subject)} ` +
        `(<a href="${name}.html">HTML</a>, <a href="${name}.txt">text</a>)</li>`,
    )
  }
  const indexPath = path.join(outputDir, 'index.html')
  await writeFile(
    indexPath,
    `<!doctype html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>Email previews</title></head>\n` +
      `<body style="font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; line-height: 1.5">\n` +
      `<h1>Email previews</h1>\n<ul>\n${rows.join('\n')}\n</ul>\n</body></html>\n`,
  )
  console.log(path.relative(process.cwd(), indexPath))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
