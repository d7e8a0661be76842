import { useEffect, useRef, useState, useSyncExternalStore } from 'react'

type ShareLinksProps = {
  /** The absolute address to share. */
  url: string
  title: string
  text?: string
  /**
   * Copy and the device's share sheet, with the live region that says "Link copied". Off where the
   * page already has a live region of its own (the thank-you page's), so that one stays the only one.
   */
  actions?: boolean
}

/**
 * Ways to pass the appeal on. The links are plain addresses the person may choose to follow:
 * nothing is loaded from these sites when the page loads (no buttons, scripts or counters), so
 * they learn nothing about who reads the appeal. Copy and the device's own share sheet need
 * JavaScript and appear only once it runs.
 */
export function ShareLinks({ url, title, text, actions = true }: ShareLinksProps) {
  const canShare = useBrowserCapability(() => typeof navigator.share === 'function')
  const canCopy = useBrowserCapability(() => typeof navigator.clipboard?.writeText === 'function')
  const [announcement, setAnnouncement] = useState('')
  const clearTimer = useRef<ReturnType<typeof setTimeout>>(undefined)
  useEffect(() => () => clearTimeout(clearTimer.current), [])

  function announce(message: string) {
    setAnnouncement(message)
    clearTimeout(clearTimer.current)
    clearTimer.current = setTimeout(() => setAnnouncement(''), 5_000)
  }

  async function copyLink() {
    try {
      await navigator.clipboard.writeText(url)
      announce('Link copied')
    } catch {
      announce('Could not copy the link. Select the address above and copy it yourself.')
    }
  }

  async function shareNatively() {
    try {
      await navigator.share({ title, text, url })
    } catch {
      // Closing the share sheet rejects too; there is nothing to tell the person.
    }
  }

  const message = text ? `${title}: ${text}` : title
  const links = [
    { label: 'Email', href: `mailto:?subject=${encodeURIComponent(title)}&body=${encodeURIComponent(`${message}\n\n${url}`)}` },
    { label: 'WhatsApp', href: `https://wa.me/?text=${encodeURIComponent(`${title} ${url}`)}` },
    { label: 'X', href: `https://x.com/intent/post?url=${encodeURIComponent(url)}&text=${encodeURIComponent(title)}` },
    { label: 'Facebook', href: `https://www.facebook.com/sharer/sharer.php?u=${encodeURIComponent(url)}` },
  ]

  return (
    <section className="share" aria-labelledby="share-title">
      <h2 id="share-title" className="share__title">
        Share this appeal
      </h2>
      <div className="field share__address">
        <label htmlFor="share-url">Link to this appeal</label>
        <input id="share-url" type="text" readOnly value={url} onFocus={(event) => event.currentTarget.select()} />
      </div>
      {actions && (canCopy || canShare) ? (
        <p className="share__actions">
          {canCopy ? (
            <button type="button" className="button button--secondary" onClick={copyLink}>
              Copy link
            </button>
          ) : null}
          {canShare ? (
            <button type="button" className="button button--secondary" onClick={shareNatively}>
              Share…
            </button>
          ) : null}
        </p>
      ) : null}
      {actions ? (
        <p className="share__status" role="status" aria-live="polite">
          {announcement}
        </p>
      ) : null}
      <ul className="share__links">
        {links.map((link) => (
          <li key={link.label}>
            <a href={link.href} rel="noopener noreferrer">
              {link.label === 'Email' ? 'Share by email' : `Share on ${link.label}`}
            </a>
          </li>
        ))}
      </ul>
      <p className="share__note">These links open the other site only if you choose one.</p>
    </section>
  )
}

const subscribeToNothing = () => () => {}

/** False on the server and while hydrating, so the first render matches the server's HTML. */
function useBrowserCapability(check: () => boolean) {
  return useSyncExternalStore(subscribeToNothing, check, () => false)
}
