import { useRouteLoaderData } from '@remix-run/react'
import { DEFAULT_TIME_ZONE } from '#app/utils/time-zone.ts'

/** The TIME_ZONE setting, as the root loader passed it, so server and browser format alike. */
export function useOrganisationTimeZone(): string {
  const data = useRouteLoaderData('root') as { timeZone?: string } | undefined
  return data?.timeZone ?? DEFAULT_TIME_ZONE
}
