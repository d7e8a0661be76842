import type { ReactNode } from 'react'

/**
 * A table that may be wider than a phone scrolls in its own box, never the page. The box can be
 * focused and is named, so keyboard users can scroll it too (axe: scrollable-region-focusable).
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  )
}
