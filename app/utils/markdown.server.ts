import MarkdownIt from 'markdown-it'
import type { RenderRule } from 'markdown-it/lib/renderer.mjs'

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

type RenderEnv = { origin?: string }

const LINK_REL = 'nofollow noopener noreferrer'

// Any hostname that cannot exist stands in for "this site" when no origin is given.
const PLACEHOLDER_ORIGIN = 'https://this-site.invalid'

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: true })

const defaultLinkOpen: RenderRule = (tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options)
const renderLinkOpen = markdown.renderer.rules.link_open ?? defaultLinkOpen
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('rel', LINK_REL)
  return renderLinkOpen(tokens, idx, options, env, self)
}

const renderImage = markdown.renderer.rules.image!
markdown.renderer.rules.image = (tokens, idx, options, env: RenderEnv, self) => {
  const token = tokens[idx]!
  const src = token.attrGet('src') ?? ''
  if (isSameOrigin(src, env.origin)) return renderImage(tokens, idx, options, env, self)

  const alt = self.renderInlineAsText(token.children ?? [], options, env).trim()
  const escape = markdown.utils.escapeHtml
  const label = escape(alt ? `Image: ${alt}` : 'Image on another website')
  // Only a web address is worth offering as a link; anything else becomes its description.
  if (!/^https?:\/\//i.test(src)) return label
  return `<a href="${escape(src)}" rel="${LINK_REL}">${label}</a>`
}

/**
 * True for a relative path or a URL on `origin`. Parsing the way a browser does catches the
 * tricks a prefix check misses (`//evil.example`, `/\evil.example`).
 */
function isSameOrigin(src: string, origin: string | undefined): boolean {
  if (src === '') return false
  const base = origin ?? PLACEHOLDER_ORIGIN
  try {
    return new URL(src, base).origin === new URL(base).origin
  } catch {
    return false
  }
}

export function renderMarkdown(source: string, options: MarkdownOptions = {}): string {
  const env: RenderEnv = { origin: options.origin }
  return markdown.render(source, env)
}
