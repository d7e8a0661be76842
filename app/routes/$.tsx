import { Link } from '@remix-run/react'

// Any address no other route claims: a real 404 status, not a soft one.
export async function loader() {
  throw new Response('Not found', { status: 404 })
}

export default function NotFound() {
  return null
}

export function ErrorBoundary() {
  return (
    <div className="container page">
      <h1>We could not find that page</h1>
      <p>The page may have moved, or the link may be mistyped.</p>
      <p>
        <Link to="/">Go to the home page</Link>
      </p>
    </div>
  )
}
