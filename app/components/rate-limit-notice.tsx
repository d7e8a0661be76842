/**
 * The sentence a rate-limited action answered with (`{ rateLimited: "…try again in N minutes" }`),
 * shown above the form's button so the person knows why nothing happened.
 */
export function RateLimitNotice({ actionData }: { actionData: unknown }) {
  if (!actionData || typeof actionData !== 'object' || !('rateLimited' in actionData)) return null
  return (
    <p className="notice" role="alert">
      {String(actionData.rateLimited)}
    </p>
  )
}
