import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import {
  isRouteErrorResponse,
  Link,
  Links,
  LiveReload,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLoaderData,
  useLocation,
  useRouteError,
  useRouteLoaderData,
} from '@remix-run/react'
import type { ReactNode } from 'react'
import { useNonce } from '#app/components/nonce-provider.tsx'
import { getOrganisation } from '#app/modules/organisation/organisation.server.ts'
import { countSavedEvents } from '#app/modules/events/saved-events.server.ts'
import { readSaverId } from '#app/utils/saver-cookie.server.ts'
import appStyles from '#app/styles/app.css'
import { getDb } from '#app/utils/db.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: appStyles },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
]

export const meta: MetaFunction = () => [{ title: 'Sanad' }]

// The request is optional so that tests (and scripts) can ask as a browser that saved nothing.
export async function loader({ request }: Partial<Pick<LoaderFunctionArgs, 'request'>> = {}) {
  const db = getDb()
  // Per request, from this browser's own saver cookie: a browser without one (every page the page
  // cache stores or serves, ADR 010) has saved nothing and shows no count (docs/decisions/027).
  const saverId = request ? await readSaverId(request) : null
  const [organisation, savedCount] = await Promise.all([getOrganisation(db), countSavedEvents(db, saverId)])
  return {
    savedCount,
    organisationName: organisation?.name ?? 'Sanad',
    tagline: organisation?.tagline ?? null,
    contactEmail: organisation?.contact_email ?? null,
    charityNumber: organisation?.charity_number ?? null,
    registeredAddress: organisation?.registered_address ?? null,
    timeZone: organisationTimeZone(),
  }
}

export function Layout({ children }: { children: ReactNode }) {
  const data = useRouteLoaderData<typeof loader>('root')
  const organisationName = data?.organisationName ?? 'Sanad'
  const nonce = useNonce()
  // The staff area has its own navigation; the public one beside it would offer two "Appeals".
  const inStaffArea = /^\/staff(\/|$)/.test(useLocation().pathname)
  return (
    <html lang="en-GB">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="strict-origin-when-cross-origin" />
        <Meta />
        <Links />
      </head>
      <body>
        <a className="skip-link" href="#main">
          Skip to main content
        </a>
        <header className="site-header">
          <div className="container site-header__inner">
            <Link to="/" className="site-header__brand">
              {organisationName}
            </Link>
            {inStaffArea ? null : (
              <nav aria-label="Main">
                <ul className="site-nav">
                  <li>
                    <NavLink to="/appeals">Appeals</NavLink>
                  </li>
                  <li>
                    <NavLink to="/events">Events</NavLink>
                  </li>
                  <li>
                    <NavLink to="/about">About</NavLink>
                  </li>
                  <li>
                    <NavLink to="/saved">
                      Saved
                      {data?.savedCount ? ' ' : null}
                      {data?.savedCount ? (
                        <span className="site-nav__count">
                          {data.savedCount}
                          <span className="visually-hidden">{data.savedCount === 1 ? ' event' : ' events'}</span>
                        </span>
                      ) : null}
                    </NavLink>
                  </li>
                </ul>
              </nav>
            )}
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
        <footer className="site-footer">
          <div className="container">
            <p>
              {organisationName}
              {data?.tagline ? ` — ${data.tagline}` : null}
            </p>
            {data?.charityNumber || data?.registeredAddress ? (
              // What a supporter checks before trusting a charity with a gift (issue 13).
              <p className="site-footer__trust">
                {data.charityNumber ? <>Registered charity number {data.charityNumber}. </> : null}
                {data.registeredAddress ? <>Registered address: {data.registeredAddress}.</> : null}
              </p>
            ) : null}
            <p>
              We never share your details, and this site loads nothing from any other website.{' '}
              <Link to="/privacy">Privacy notice</Link>
              {' · '}
              <Link to="/contact">Contact us</Link>
              {data?.contactEmail ? (
                <>
                  {' '}
                  at <a href={`mailto:${data.contactEmail}`}>{data.contactEmail}</a>
                </>
              ) : null}
            </p>
            <p className="site-footer__small">Powered by Sanad, open-source software for human-rights organisations.</p>
          </div>
        </footer>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
        {process.env.NODE_ENV === 'development' ? <LiveReload nonce={nonce} /> : null}
      </body>
    </html>
  )
}

export default function App() {
  useLoaderData<typeof loader>()
  return <Outlet />
}

export function ErrorBoundary() {
  const error = useRouteError()
  const notFound = isRouteErrorResponse(error) && error.status === 404
  return (
    <div className="container page">
      <h1>{notFound ? 'We could not find that page' : 'Something went wrong'}</h1>
      <p>
        {notFound
          ? 'The page may have moved, or the link may be mistyped.'
          : 'Sorry: the page could not be shown. Please try again in a moment. If you were making a donation, no payment was taken unless you saw a confirmation.'}
      </p>
      <p>
        <Link to="/">Go to the home page</Link>
      </p>
    </div>
  )
}
