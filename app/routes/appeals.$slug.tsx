import {
  data,
  redirectDocument,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import {
  isRouteErrorResponse,
  Link,
  useActionData,
  useLoaderData,
  useLocation,
  useNavigate,
  useRevalidator,
  useRouteError,
} from '@remix-run/react'
import { useEffect, useRef } from 'react'
import { ProgressBar } from '#app/components/appeal-card.tsx'
import { DonationForm } from '#app/forms/donation/donation-form.tsx'
import { ShareLinks } from '#app/components/share-links.tsx'
import { getAppealPage, type AppealPage } from '#app/modules/appeals/appeal-page.server.ts'
import { startCheckout } from '#app/modules/donations/checkout.server.ts'
import { getReturningDonation } from '#app/modules/donations/checkout-return.server.ts'
import { CHECKOUT_RETURN_ANCHOR } from '#app/modules/donations/checkout-request.ts'
import { parseDonationForm, restoredDonationForm, toDonationRequest } from '#app/forms/donation/parse.server.ts'
import { checkoutCookieHeader, readCheckoutSubmissionId } from '#app/utils/checkout-cookie.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import formStyles from '#app/styles/forms.css'
import styles from '#app/styles/appeal.css'
import { absoluteUrl, appOrigin } from '#app/utils/absolute-url.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { rateLimitHeaders, rateLimitMessage } from '#app/utils/rate-limit.server.ts'
import { formatDay } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoneyShort, progressPercent } from '#app/utils/money.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { submissionIdFor } from '#app/utils/page-cache.server.ts'

function donationFormOptions(page: Pick<AppealPage, 'appeal' | 'giftAidAvailable'>) {
  return { currency: page.appeal.currency, giftAidAvailable: page.giftAidAvailable, maxGbp: getEnv().DONATION_MAX_GBP }
}

/**
 * A page holding a returning donor's own details must not be kept anywhere but on the screen: not
 * by the browser's cache, not by a proxy, not by the public page cache (ADR 010 and 024).
 */
const PRIVATE_PAGE = 'private, no-store'

export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders }) => {
  const result = new Headers()
  for (const source of [loaderHeaders, actionHeaders]) {
    for (const name of ['Cache-Control', 'Retry-After']) {
      const value = source.get(name)
      if (value) result.set(name, value)
    }
  }
  return result
}

const CLOSED_MESSAGE = 'This appeal has closed'
// Says nothing a robot could learn from, and is still true for a person whose browser filled it.
const HONEYPOT_MESSAGE = 'We could not take your donation. Please check the form and try again.'

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: formStyles },
  { rel: 'stylesheet', href: styles },
]

export const meta: MetaFunction<typeof loader> = ({ data }) => {
  if (!data) return [{ title: 'Appeal not found' }]
  const { appeal } = data
  const tags = [
    { title: appeal.title },
    { name: 'description', content: appeal.summary },
    { property: 'og:title', content: appeal.title },
    { property: 'og:description', content: appeal.summary },
    { property: 'og:type', content: 'website' },
    { property: 'og:url', content: data.pageUrl },
    { name: 'twitter:card', content: 'summary_large_image' },
    { name: 'twitter:title', content: appeal.title },
    { name: 'twitter:description', content: appeal.summary },
  ]
  if (data.imageUrl) {
    tags.push(
      { property: 'og:image', content: data.imageUrl },
      { name: 'twitter:image', content: data.imageUrl },
    )
    if (appeal.photoAlt) {
      tags.push({ property: 'og:image:alt', content: appeal.photoAlt }, { name: 'twitter:image:alt', content: appeal.photoAlt })
    }
  }
  return tags
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const url = new URL(request.url)
  const db = getDb()
  const page = await getAppealPage(db, params.slug ?? '', new Date(), { origin: appOrigin() })
  if (!page) throw new Response('Not found', { status: 404 })
  // Only the browser that started a checkout holds its cookie, so only it sees its form again.
  const returningSubmissionId = await readCheckoutSubmissionId(request)
  const returning =
    returningSubmissionId && page.state !== 'closed'
      ? await getReturningDonation(db, { submissionId: returningSubmissionId, appealId: page.appeal.id })
      : null
  const env = getEnv()
  return data(
    {
      ...page,
      // Share cards need absolute addresses: APP_URL's, never the request's (a forged Host would
      // otherwise be cached and shown to everyone).
      pageUrl: absoluteUrl(`/appeals/${page.appeal.slug}`),
      imageUrl: page.appeal.photoPath ? absoluteUrl(page.appeal.photoPath) : null,
      // One id per page view: a double submit or a retry is recognised as the same donation. A
      // restored form gets a new one too, so a changed gift is a new donation, not the old one.
      submissionId: submissionIdFor(request),
      checkoutCancelled: url.searchParams.get('checkout') === 'cancelled',
      restored: returning ? restoredDonationForm(returning, page.appeal) : null,
      maxGbp: env.DONATION_MAX_GBP,
      feeFormula: { percent: env.PROCESSING_FEE_PERCENT, fixedMinor: env.PROCESSING_FEE_FIXED_MINOR },
    },
    { headers: returningSubmissionId ? { 'Cache-Control': PRIVATE_PAGE } : undefined },
  )
}

export async function action({ request, params }: ActionFunctionArgs) {
  const db = getDb()
  const page = await getAppealPage(db, params.slug ?? '')
  if (!page) throw new Response('Not found', { status: 404 })

  const formData = await readFormData(request)
  const submission = parseDonationForm(formData, donationFormOptions(page))
  const honeypot = formData.get('website')
  if (honeypot !== null && honeypot !== '') {
    return data(submission.reply({ formErrors: [HONEYPOT_MESSAGE], hideFields: ['website'] }), { status: 400 })
  }
  if (submission.status !== 'success') return data(submission.reply(), { status: 400 })
  if (page.state === 'closed') return data(submission.reply({ formErrors: [CLOSED_MESSAGE] }), { status: 400 })

  const outcome = await startCheckout(db, toDonationRequest(submission.value, page.appeal.id), {
    origin: appOrigin(),
    clientIp: clientIpFromRequest(request),
  })
  switch (outcome.kind) {
    case 'redirect':
      // The way back to this form, filled in, for this browser only (the loader reads it). The
      // payment page is always a document of its own, as Stripe's is on its own site: the offline
      // checkout that stands in for it (on our origin) must not be opened inside this page.
      return redirectDocument(outcome.url, {
        status: 303,
        headers: { 'Set-Cookie': await checkoutCookieHeader(outcome.submissionId), 'Cache-Control': 'no-store' },
      })
    case 'rate-limited':
      return data(submission.reply({ formErrors: [rateLimitMessage(outcome.retryAfterSeconds)] }), {
        status: 429,
        headers: rateLimitHeaders(outcome.retryAfterSeconds),
      })
    case 'closed':
      return data(submission.reply({ formErrors: [CLOSED_MESSAGE] }), { status: 400 })
    case 'unavailable':
      return data(submission.reply({ formErrors: [outcome.message] }), { status: 503 })
  }
}

export default function AppealRoute() {
  const page = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  const { appeal, totals, state } = page
  const percent = progressPercent(totals.raisedMinor, appeal.goalMinor)
  const raised = formatMoneyShort(totals.raisedMinor, appeal.currency)
  const goal = formatMoneyShort(appeal.goalMinor, appeal.currency)
  const returnNotice = lastResult ? null : returnNoticeText(page.checkoutCancelled, page.restored !== null)
  const noticeRef = useRef<HTMLParagraphElement>(null)
  const revalidator = useRevalidator()

  // Back at the form from the payment page: the notice takes focus, which scrolls it into view
  // (without JavaScript the return address's #checkout-return anchor does that).
  useEffect(() => {
    if (returnNotice) noticeRef.current?.focus()
  }, [returnNotice])

  // A page the browser's history showed from its cache was rendered before the checkout began;
  // asking the loader again brings this browser's details back (once per page load).
  useEffect(() => {
    if (historyLoadChecked || page.restored) return
    historyLoadChecked = true
    const entry = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
    if (entry?.type === 'back_forward') revalidator.revalidate()
  }, [page.restored, revalidator])

  // Back from the payment page, a browser may show this page from its back/forward cache, frozen
  // as it was when it left: the button still "Taking you to payment…" and disabled (the
  // navigation that sent the browser to Stripe never ends here), and the form holding the
  // submission id of the checkout it started, which would send a changed gift as the old one.
  // Asking the loader again ends that navigation and brings a new id and this browser's values.
  const navigate = useNavigate()
  const { pathname, search } = useLocation()
  useEffect(() => {
    const onPageShow = (event: PageTransitionEvent) => {
      // Without the hash: a navigation that changed only the hash would not ask the loader.
      if (event.persisted) navigate({ pathname, search }, { replace: true, preventScrollReset: true })
    }
    window.addEventListener('pageshow', onPageShow)
    return () => window.removeEventListener('pageshow', onPageShow)
  }, [navigate, pathname, search])

  const supportersText = totals.donorCount === 1 ? '1 supporter' : `${totals.donorCount} supporters`
  const open = state !== 'closed'

  return (
    <article className="container page appeal" aria-labelledby="appeal-title">
      <div className="appeal__layout">
        <header className="appeal__header">
          <h1 id="appeal-title">{appeal.title}</h1>
          <p className="appeal__beneficiary">
            For {appeal.beneficiaryName}
            {appeal.beneficiaryIsPseudonym ? ' (a pseudonym)' : null}
          </p>
          {lastResult?.status === 'error' && open ? (
            // Without JavaScript the page reloads at the top, far from the form and its errors.
            <p className="appeal__banner appeal__banner--error">
              <a href="#donation-error-summary-title">There is a problem with your donation: see the form below</a>
            </p>
          ) : null}
        </header>

        {appeal.photoPath ? (
          <img
            className="appeal__photo"
            src={appeal.photoPath}
            alt={appeal.photoAlt ?? ''}
            width={960}
            height={540}
          />
        ) : null}

        {/* Everything needed to decide to give, in the first screen on a phone and beside the story on a wide one. */}
        <aside className="appeal__progress" aria-labelledby="progress-title">
          <h2 id="progress-title" className="visually-hidden">
            Progress
          </h2>
          <p className="appeal__raised">
            <strong>{raised}</strong> raised of {goal}
          </p>
          <ProgressBar percent={percent} label={`${percent}% of the ${goal} goal raised`} />
          <ul className="appeal__facts">
            <li>
              <strong>{supportersText}</strong>
            </li>
            {open && page.daysLeft !== null ? (
              <li>
                <strong>{daysLeftText(page.daysLeft)}</strong>
              </li>
            ) : null}
          </ul>
          {open && appeal.closesAt ? (
            <p className="appeal__closes">
              Closes on <time dateTime={new Date(appeal.closesAt).toISOString()}>{formatDay(appeal.closesAt)}</time>
            </p>
          ) : null}
          {appeal.currency !== 'GBP' ? (
            <p className="appeal__currency-note">
              This appeal raises money in {currencyName(appeal.currency)}, the currency its costs are paid in. Your bank
              converts your gift from your own currency, and may charge for doing so.
            </p>
          ) : null}
          {state === 'goal-reached' ? (
            <p className="appeal__banner appeal__banner--success">
              <strong>Goal reached, and still raising.</strong> Thank you: every further gift still goes to this
              appeal.
            </p>
          ) : null}
          {open ? (
            <p className="appeal__donate-row">
              <a className="button appeal__give-link" href="#donate">
                Donate
              </a>
            </p>
          ) : (
            <p className="appeal__banner appeal__banner--closed">
              <strong>{CLOSED_MESSAGE}.</strong> Thank you to everyone who gave. <Link to="/appeals">See our open appeals</Link>
            </p>
          )}
        </aside>

        <div className="appeal__main">
          <div className="appeal__reading">
            <p className="lead">{appeal.summary}</p>

            <section className="appeal__section appeal__section--supporters" aria-labelledby="supporters-title">
              <h2 id="supporters-title">Recent supporters</h2>
              {page.supporters.length > 0 ? (
                <ul className="appeal__supporters">
                  {page.supporters.map((supporter, index) => (
                    // Supporters carry no id on purpose; their order is fixed for this render.
                    <li key={index} className="supporter">
                      <p className="supporter__name">
                        <strong>{supporter.name}</strong>
                        {supporter.amountMinor !== null ? (
                          <span className="supporter__amount"> gave {formatMoneyShort(supporter.amountMinor, appeal.currency)}</span>
                        ) : null}
                      </p>
                      {supporter.message ? (
                        <blockquote className="supporter__message">
                          <p>{supporter.message}</p>
                        </blockquote>
                      ) : null}
                    </li>
                  ))}
                </ul>
              ) : (
                <p>No one has given yet. Yours could be the first gift.</p>
              )}
              <p className="appeal__privacy-note">
                Supporters appear here only as they choose: a name, an amount and a message are shown only when the
                donor asks us to.
              </p>
            </section>

            <section className="appeal__section" aria-labelledby="story-title">
              <h2 id="story-title">The story</h2>
              {/* Sanitised by markdown.server.ts: raw HTML escaped, unsafe links dropped, no outside images. */}
              <div className="prose appeal__story" dangerouslySetInnerHTML={{ __html: appeal.storyHtml }} />
            </section>

            {open ? (
              // Sticks to the foot of a phone's screen while the story is read, and comes to rest just
              // above the form: it never lies over the form (CSS position: sticky, no script, no motion).
              <p className="appeal__donate-bar">
                <span className="appeal__donate-bar-figures">
                  <strong>{raised}</strong> of {goal}
                </span>
                <a className="button" href="#donate">
                  Donate
                </a>
              </p>
            ) : null}
          </div>

          {open ? (
            <section className="appeal__section appeal__donate" id="donate" aria-labelledby="donate-title">
              <h2 id="donate-title">Give to this appeal</h2>
              {returnNotice ? (
                <p
                  id={CHECKOUT_RETURN_ANCHOR}
                  ref={noticeRef}
                  className="appeal__banner appeal__return-notice"
                  role="status"
                  tabIndex={-1}
                >
                  {returnNotice}
                </p>
              ) : null}
              <DonationForm
                // A form filled in again by a later answer of the loader starts from its values.
                key={page.restored ? 'restored' : 'new'}
                currency={appeal.currency}
                suggestedAmountsMinor={appeal.suggestedAmountsMinor}
                giftAidAvailable={page.giftAidAvailable}
                organisationName={page.organisationName}
                submissionId={page.submissionId}
                lastResult={lastResult}
                maxGbp={page.maxGbp}
                feeFormula={page.feeFormula}
                restored={page.restored}
              />
              <p className="appeal__form-privacy">
                How we use and protect your details: read our <Link to="/privacy">privacy notice</Link>.
              </p>
            </section>
          ) : null}

          <ShareLinks url={page.pageUrl} title={appeal.title} text={appeal.summary} />

          {page.updates.length > 0 ? (
            <section className="appeal__section" aria-labelledby="updates-title">
              <h2 id="updates-title">Updates</h2>
              <ol className="appeal__updates">
                {page.updates.map((update) => (
                  <li key={update.id} className="appeal__update">
                    <h3>{update.title}</h3>
                    <p className="appeal__update-date">
                      <time dateTime={new Date(update.publishedAt).toISOString()}>{formatDay(update.publishedAt)}</time>
                    </p>
                    <div className="prose" dangerouslySetInnerHTML={{ __html: update.bodyHtml }} />
                  </li>
                ))}
              </ol>
            </section>
          ) : null}
        </div>
      </div>
    </article>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const notFound = isRouteErrorResponse(error) && error.status === 404
  return (
    <div className="container page">
      <h1>{notFound ? 'We could not find that appeal' : 'Something went wrong'}</h1>
      <p>
        {notFound
          ? 'The appeal may have been taken down, or the link may be mistyped.'
          : 'Sorry: the appeal could not be shown. Please try again in a moment. If you were making a donation, no payment was taken unless you saw a confirmation.'}
      </p>
      <p>
        <Link to="/appeals">See all our appeals</Link>
      </p>
    </div>
  )
}

/** Whether this page load has looked for a history navigation served from the browser's cache. */
let historyLoadChecked = false

function returnNoticeText(cancelled: boolean, restored: boolean): string | null {
  const filledIn = 'What you typed is filled in below: check it and try again.'
  if (cancelled) return `You left the payment page, so no money was taken. ${restored ? filledIn : 'You can try again below.'}`
  // Back without Stripe's word for it: a payment made a moment ago may not have reached us yet.
  if (restored) return `You came back from the payment page. If you did not finish paying, no money was taken. ${filledIn}`
  return null
}

/** The currency's name in words, for the note on an appeal not in pounds. */
function currencyName(currency: string) {
  return CURRENCY_NAMES[currency] ?? currency
}
const CURRENCY_NAMES: Record<string, string> = { USD: 'US dollars', EUR: 'euros' }

function daysLeftText(days: number) {
  if (days === 0) return 'closes today'
  return days === 1 ? '1 day left' : `${days} days left`
}
