import type { HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, isRouteErrorResponse, Link, NavLink, Outlet, useLoaderData, useRouteError } from '@remix-run/react'
import { countParkedStripeEvents } from '#app/modules/payments/stripe-inbox.server.ts'
import { hasRole, requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import formStyles from '#app/styles/forms.css'
import staffFormStyles from '#app/styles/staff-forms.css'

/** The least role that may open this route; tests/integration/staff-routes.test.ts reads it. */
export const handle = { staffRole: 'viewer' } as const satisfies { staffRole: StaffRole }

/**
 * Every staff page has forms (filters, role pickers, the cancel box) and visually hidden labels:
 * the layout loads their styles once, so no page can forget them and show bare controls.
 */
export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: formStyles },
  { rel: 'stylesheet', href: staffFormStyles },
]

export const meta: MetaFunction = () => [{ title: 'Staff' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const ROLE_NAMES: Record<StaffRole, string> = { viewer: 'Viewer', staff: 'Staff', admin: 'Administrator' }

export async function loader({ request }: LoaderFunctionArgs) {
  // Child loaders run alongside this one, not after it, so each of them checks the session too.
  const staff = await requireStaff(request, handle.staffRole)
  const canManage = hasRole(staff.role, 'staff')
  // On every staff page: money Stripe reported that is not in the totals until someone acts.
  const parkedPaymentEvents = canManage ? await countParkedStripeEvents(getDb()) : 0
  return { staff: { name: staff.name, role: ROLE_NAMES[staff.role], canManage, isAdmin: hasRole(staff.role, 'admin') }, parkedPaymentEvents }
}

export default function StaffLayout() {
  const { staff, parkedPaymentEvents } = useLoaderData<typeof loader>()
  return (
    <div className="staff-area">
      <div className="staff-bar">
        <div className="container staff-bar__inner">
          <p className="staff-bar__who">
            <Link to="/staff">Staff area</Link>
            <span>
              Signed in as <strong>{staff.name}</strong> ({staff.role})
            </span>
          </p>
          <nav aria-label="Staff">
            <ul className="staff-nav">
              <li>
                <NavLink to="/staff" end>
                  Totals
                </NavLink>
              </li>
              {staff.canManage ? (
                <>
                  <li>
                    <NavLink to="/staff/appeals">Appeals</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/donations">Donations</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/gift-aid">Gift Aid</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/events">Events</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/emails">Failed emails</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/payment-events">
                      Payment events
                      {parkedPaymentEvents > 0 ? <span> ({parkedPaymentEvents} need attention)</span> : null}
                    </NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/supporters">Supporters’ data</NavLink>
                  </li>
                </>
              ) : null}
              {staff.isAdmin ? (
                <>
                  <li>
                    <NavLink to="/staff/audit">Audit log</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/users">Staff users</NavLink>
                  </li>
                  <li>
                    <NavLink to="/staff/privacy">Privacy notice</NavLink>
                  </li>
                </>
              ) : null}
              <li>
                <NavLink to="/staff/two-factor">Two-step sign-in</NavLink>
              </li>
            </ul>
          </nav>
          <Form method="post" action="/staff/sign-out" className="staff-bar__sign-out" reloadDocument>
            <button type="submit" className="button button--secondary">
              Sign out
            </button>
            <button type="submit" name="everywhere" value="1" className="button button--secondary">
              Sign out everywhere
            </button>
          </Form>
        </div>
      </div>
      {parkedPaymentEvents > 0 ? (
        <div className="container">
          <p className="notice" role="status">
            <Link to="/staff/payment-events">
              {parkedPaymentEvents === 1 ? '1 payment event needs' : `${parkedPaymentEvents} payment events need`} attention
            </Link>
            : Stripe reported money that is not in the totals yet.
          </p>
        </div>
      ) : null}
      <Outlet />
    </div>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const forbidden = isRouteErrorResponse(error) && error.status === 403
  return (
    <div className="container page">
      <h1>{forbidden ? 'You do not have permission to see this page' : 'Something went wrong'}</h1>
      <p>
        {forbidden
          ? 'Your role does not include this part of the staff area. Ask an administrator if you need it.'
          : 'Sorry: the page could not be shown. Please try again in a moment.'}
      </p>
      <p>
        <Link to="/staff">Back to the staff area</Link>
      </p>
    </div>
  )
}
