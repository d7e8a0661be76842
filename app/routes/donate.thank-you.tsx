import type { HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, isRouteErrorResponse, Link, useLoaderData, useNavigation, useRevalidator, useRouteError, useSearchParams } from '@remix-run/react'
import { useEffect, useRef, useState, type RefObject } from 'react'
import { ProgressBar } from '#app/components/appeal-card.tsx'
import { useHydrated } from '#app/components/public-form-parts.tsx'
import { ShareLinks } from '#app/components/share-links.tsx'
import {
  getAppliedGiftProgress,
  getGiftBySession,
  getReceiptAddress,
  listOtherOpenAppeals,
} from '#app/modules/donations/thank-you.server.ts'
import styles from '#app/styles/appeal.css'
import { readCheckoutSubmissionId } from '#app/utils/checkout-cookie.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { formatMoney, formatMoneyShort, progressPercent } from '#app/utils/money.ts'

export const meta: MetaFunction = () => [{ title: 'Thank you' }, { name: 'robots', content: 'noindex' }]

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: styles }]

export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  const sessionId = new URL(request.url).searchParams.get('session_id') ?? ''
  const db = getDb()
  const gift = await getGiftBySession(db, sessionId)
  if (!gift) throw new Response('Not found', { status: 404 })
  const applied = gift.status === 'confirmed'
  // Share prompts and next steps while a gift is on its way too; the figures only once it counts.
  const onItsWay = applied || gift.status === 'pending' || gift.status === 'processing'
  const [progress, receiptEmail, otherAppeals] = await Promise.all([
    applied ? getAppliedGiftProgress(db, gift) : null,
    applied ? getReceiptAddress(db, gift, await readCheckoutSubmissionId(request)) : null,
    onItsWay ? listOtherOpenAppeals(db, gift.appeal_id) : [],
  ])
  return {
    gift: {
      status: gift.status,
      monthly: gift.frequency === 'monthly',
      amount: formatMoney(gift.amount_minor + gift.fee_cover_minor, gift.currency),
      appealTitle: gift.title,
      appealSlug: gift.slug,
    },
    progress: progress
      ? {
          raised: formatMoneyShort(progress.raisedMinor, progress.currency),
          goal: formatMoneyShort(progress.goalMinor, progress.currency),
          percent: progressPercent(progress.raisedMinor, progress.goalMinor),
          supporterCount: progress.supporterCount,
          supporterNumber: progress.supporterNumber,
        }
      : null,
    // Only ever for the browser that made the gift (its signed checkout cookie names it).
    receiptEmail,
    share: onItsWay ? { url: `${appUrl()}/appeals/${gift.slug}` } : null,
    nextSteps: onItsWay ? { otherAppeals } : null,
  }
}

type Gift = Awaited<ReturnType<typeof loader>>['gift']

/**
 * How often, and for how long, an open page asks again whether a pending gift has been applied.
 * A card payment is applied within seconds of the supporter's return; past two minutes something
 * is slower than usual, and asking on would only load the server for someone who has left the tab.
 */
const CHECK_EVERY_MS = 3_000
const CHECK_FOR_MS = 2 * 60_000

export default function ThankYou() {
  const { gift, progress, receiptEmail, share, nextSteps } = useLoaderData<typeof loader>()
  const heading = useRef<HTMLHeadingElement>(null)
  const checking = useCheckWhilePending(gift.status === 'pending')
  useFocusHeadingWhenFocusIsLost(gift.status, heading)
  const { title, message } = pageText(gift)
  const failed = gift.status === 'failed' || gift.status === 'abandoned'

  return (
    <div className="container page prose">
      {/* Focusable only from script, when the state changes under the button that had focus. */}
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {/* The same region from the first render in every state: screen readers announce a change
          inside a live region, but not always a region that appears with its text already in it. */}
      <div role="status" aria-live="polite" aria-atomic="true">
        <p className="lead">{message}</p>
      </div>
      {gift.status === 'pending' ? <CheckAgain checking={checking} /> : null}
      {receiptEmail ? (
        <p className="thank-you__receipt">
          Your receipt is going to <strong>{receiptEmail}</strong>. If that is not your address, or nothing arrives within the
          hour, please <Link to="/contact">contact us</Link>.
        </p>
      ) : null}
      {progress ? (
        <section className="thank-you__progress" aria-labelledby="thank-you-progress-title">
          <h2 id="thank-you-progress-title">Where the appeal stands now</h2>
          {progress.supporterNumber !== null ? (
            <p className="thank-you__number">
              You are supporter number <strong>{progress.supporterNumber}</strong>.
            </p>
          ) : null}
          <p className="appeal__raised">
            <strong>{progress.raised}</strong> raised of {progress.goal}
          </p>
          <ProgressBar percent={progress.percent} label={`${progress.percent}% of the ${progress.goal} goal raised`} />
          <p>{progress.supporterCount === 1 ? '1 supporter' : `${progress.supporterCount} supporters`} so far.</p>
        </section>
      ) : null}
      {share ? (
        <>
          <p>If you would like to, passing the appeal on to someone who cares about it helps it reach its goal.</p>
          <ShareLinks url={share.url} title={gift.appealTitle} actions={false} />
        </>
      ) : null}
      {nextSteps ? (
        <section className="thank-you__next" aria-labelledby="thank-you-next-title">
          <h2 id="thank-you-next-title">If you would like to do more</h2>
          <p>There is no need to: your gift already makes a difference. But if you would like to:</p>
          <ul>
            {nextSteps.otherAppeals.map((appeal) => (
              <li key={appeal.slug}>
                Read another appeal: <Link to={`/appeals/${appeal.slug}`}>{appeal.title}</Link>
              </li>
            ))}
            <li>
              Come to one of <Link to="/events">our events</Link>
            </li>
            {gift.monthly ? null : (
              <li>
                Some supporters give a small amount each month, which helps us plan; you can{' '}
                <Link to={`/appeals/${gift.appealSlug}#donate`}>make a monthly gift on the appeal page</Link> whenever it suits
                you, and stop it at any time.
              </li>
            )}
          </ul>
        </section>
      ) : null}
      <p>
        {failed ? (
          <Link to={`/appeals/${gift.appealSlug}#donate`}>Try again on the appeal page</Link>
        ) : (
          <Link to={`/appeals/${gift.appealSlug}`}>Back to {gift.appealTitle}</Link>
        )}
      </p>
    </div>
  )
}

function pageText(gift: Gift): { title: string; message: string } {
  const what = `${gift.monthly ? 'monthly gift' : 'gift'} of ${gift.amount}`
  switch (gift.status) {
    case 'confirmed':
      return {
        title: 'Thank you',
        message: `Your ${what} to ${gift.appealTitle} has been received. A receipt is on its way to your inbox.`,
      }
    case 'pending':
      return {
        title: 'Thank you: we are confirming your payment',
        message: `We are confirming your payment… Your ${what} to ${gift.appealTitle} is with the payment provider; this usually takes a few seconds.`,
      }
    case 'processing':
      // Checkout completes unpaid for a bank debit (Bacs, SEPA): the bank settles it days later.
      return {
        title: 'Thank you: your bank is making the payment',
        message: `Your ${what} to ${gift.appealTitle} is being paid by bank debit, which takes a few working days to clear: usually within 3 to 5 working days. We will email your receipt as soon as it is confirmed.`,
      }
    case 'failed':
      return {
        title: 'Your payment did not go through',
        message: `Your bank or card provider did not complete the payment for your ${what}, so nothing was taken.`,
      }
    case 'abandoned':
      return {
        title: 'This checkout expired',
        message: `The payment page for your ${what} closed before a payment was made, so nothing was taken.`,
      }
  }
}

/**
 * A GET form to this same address, so it works without JavaScript; with it, the router loads the
 * page's data again in place. Replaces the history entry: pressing it ten times is not ten pages.
 */
function CheckAgain({ checking }: { checking: 'checking' | 'stopped' }) {
  const [searchParams] = useSearchParams()
  const hydrated = useHydrated()
  // This form's own submission, not the supporter following a link away.
  const pressed = useNavigation().formData?.has('session_id') ?? false
  const hint = !hydrated
    ? 'Press Check again in a moment to see whether it has gone through.'
    : checking === 'checking'
      ? 'This page checks by itself every few seconds for the next two minutes.'
      : 'This page has stopped checking by itself. Press Check again to see whether it has gone through.'
  return (
    <>
      <p>{hint} Either way, we will email your receipt as soon as the payment is confirmed.</p>
      <Form method="get" replace preventScrollReset className="button-row">
        <input type="hidden" name="session_id" value={searchParams.get('session_id') ?? ''} />
        <button type="submit" className="button button--secondary">
          {pressed ? 'Checking…' : 'Check again'}
        </button>
      </Form>
    </>
  )
}

/**
 * With JavaScript, asks again every few seconds while the gift is pending, for at most two minutes
 * from the first render; then leaves it to the Check again button. Waits for each answer before
 * scheduling the next, so a slow server is never asked twice at once.
 */
function useCheckWhilePending(pending: boolean): 'checking' | 'stopped' {
  const { revalidate, state } = useRevalidator()
  const startedAt = useRef<number | null>(null)
  const [stopped, setStopped] = useState(false)
  useEffect(() => {
    if (!pending || stopped || state !== 'idle') return
    startedAt.current ??= Date.now()
    const left = startedAt.current + CHECK_FOR_MS - Date.now()
    if (left <= 0) {
      setStopped(true)
      return
    }
    const timer = setTimeout(() => void revalidate(), Math.min(CHECK_EVERY_MS, left))
    return () => clearTimeout(timer)
  }, [pending, stopped, state, revalidate])
  return stopped ? 'stopped' : 'checking'
}

/**
 * The live region announces a change of state wherever the reader is, so focus stays put. But if
 * the focused control went with the old state (Check again, just pressed), the browser drops focus
 * to the start of the page; the new heading, which names the outcome, is a better place for it.
 */
function useFocusHeadingWhenFocusIsLost(status: string, heading: RefObject<HTMLHeadingElement>) {
  const previous = useRef(status)
  useEffect(() => {
    if (previous.current === status) return
    previous.current = status
    const active = document.activeElement
    if (!active || active === document.body) heading.current?.focus()
  }, [status, heading])
}

export function ErrorBoundary() {
  const error = useRouteError()
  const notFound = isRouteErrorResponse(error) && error.status === 404
  // While the page checks by itself, a dropped connection or a busy server lands here too: that is
  // no reason to tell someone who has just paid that their gift cannot be found.
  return (
    <div className="container page prose">
      <h1>{notFound ? 'We could not find that gift' : 'We could not check on your gift just now'}</h1>
      <p>
        {notFound ? null : 'Please reload this page in a moment. '}
        If you have just given, your receipt will arrive by email. <Link to="/appeals">See all appeals</Link>
      </p>
    </div>
  )
}
