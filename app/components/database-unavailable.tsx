import appStyles from '#app/styles/app.css'

export const DATABASE_UNAVAILABLE_TITLE = "We can't reach our database right now"

/**
 * What a visitor reads when the database cannot be reached. For the root ErrorBoundary, for an
 * error response with status 503.
 */
export function DatabaseUnavailableMessage() {
  return (
    <div className="container page">
      <h1>{DATABASE_UNAVAILABLE_TITLE}</h1>
      <p>Nothing was charged or saved. Please try again in a minute.</p>
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </div>
  )
}

/**
 * The whole 503 document sent instead of the app when the database is down (entry.server.tsx).
 * It stands alone: no loader data (the root loader needs the database too), no scripts, nothing
 * to hydrate, only the site's own stylesheet.
 */
export function DatabaseUnavailablePage() {
  return (
    <html lang="en-GB">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{DATABASE_UNAVAILABLE_TITLE}</title>
        <link rel="stylesheet" href={appStyles} />
      </head>
      <body>
        <main id="main">
          <DatabaseUnavailableMessage />
        </main>
      </body>
    </html>
  )
}
