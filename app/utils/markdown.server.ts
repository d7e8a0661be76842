import MarkdownIt, { type RendererRule } from 'markdown-it'

/**
 * Markdown written by staff (appeal stories, updates) turned into HTML that is safe to insert as
 * is. Raw HTML is escaped rather than passed through, markdown-it's validateLink drops
 * javascript:, vbscript: and most data: links, and no image may load from another website:
 * fetching one would tell that site who is reading the appeal.
 */

export type MarkdownOptions = {
  /** This site's origin, so that absolute links to our own images still render as images. */
  origin?: string
}

const LINK_REL = 'nofollow noopener noreferrer'

// Any hostname that cannot exist stands in for "this site" when no origin is given.
const PLACEHOLDER_ORIGIN = 'https://this-site.invalid'

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: true })

// The page's own title is the only <h1>: a story's "# Heading" becomes an <h2>, and so on down.
markdown.core.ruler.push('shift_headings', (state) => {
  for (const token of state.tokens) {
    if (token.type === 'heading_open' || token.type === 'heading_close') {
      token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + 1)}`
    }
  }
})

const defaultLinkOpen: RendererRule = (tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options)
const renderLinkOpen = markdown.renderer.rules.link_open ?? defaultLinkOpen
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('rel', LINK_REL)
  return renderLinkOpen(tokens, idx, options, env, self)
}

const renderImage = markdown.renderer.rules.image!
markdown.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!
  const src = String(token.attrGet('src') ?? '')
  const origin = typeof env?.origin === 'string' ? env.origin : undefined
  if (isSameOrigin(src, origin)) return renderImage(tokens, idx, options, env, self)

  const alt = self.renderInlineAsText(token.children ?? [], options, env).trim()
  const escape = markdown.utils.escapeHtml
  const label = escape(alt ? `Image: ${alt}` : 'Image on another website')
  // Only a web address is worth offering as a link; anything else becomes its description.
  if (!/^https?:\/\//i.test(src)) return label
  return `<a href="${escape(src)}" rel="${LINK_REL}">${label}</a>`
}

/**
 * True for a relative path or a URL on `origin`. Parsing the way a browser does catches the
 * tricks a prefix check misses (`//evil.example`, `/\evil.example`). A URL with a scheme is
 * judged on its own, never against a base: `https:/evil.example` is relative on an https page
 * but means https://evil.example on an http one.
 */
function isSameOrigin(src: string, origin: string | undefined): boolean {
  if (src === '') return false
  try {
    if (/^[a-z][a-z\d+.-]*:/i.test(src)) return origin !== undefined && new URL(src).origin === new URL(origin).origin
    const base = origin ?? PLACEHOLDER_ORIGIN
    return new URL(src, base).origin === new URL(base).origin
  } catch {
    return false
  }
}

export function renderMarkdown(source: string, options: MarkdownOptions = {}): string {
  return markdown.render(source, { origin: options.origin })
}
