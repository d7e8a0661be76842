import { useFetcher, useLocation } from '@remix-run/react'
import { useId, type FormEvent } from 'react'

const SAVE_EVENT_ACTION = '/events/save'

type SaveEventResult = { saved: boolean } | { errors: Record<string, string[] | undefined> } | { error: string }

/**
 * A toggle: "Save this event", pressed it reads "Event saved — remove" (aria-pressed says the
 * same). `canSave` false (a past or cancelled event) shows the button only while the event is
 * saved, so it can be removed, and keeps it after that press so focus is not lost and it can be undone.
 */
export function SaveEventButton({ eventId, saved, eventTitle, canSave = true }: { eventId: string; saved: boolean; eventTitle: string; canSave?: boolean }) {
  // A shared key keeps two buttons for the same event (a card and the event page) in step.
  const fetcher = useFetcher<SaveEventResult>({ key: `save-event:${eventId}` })
  const location = useLocation()
  const descriptionId = useId()

  // While a save is in flight, show what the person asked for; once answered, what the server
  // said, which also holds on a page that chose not to reload its data after saving (/saved).
  const pendingIntent = fetcher.formData?.get('intent')
  const answered = fetcher.data && 'saved' in fetcher.data ? fetcher.data.saved : undefined
  const refusal = fetcher.state === 'idle' && fetcher.data && 'error' in fetcher.data ? fetcher.data.error : null
  const isSaved = pendingIntent === 'save' ? true : pendingIntent === 'unsave' ? false : (answered ?? saved)
  const usedHere = fetcher.state !== 'idle' || fetcher.data !== undefined

  // Only runs once React has hydrated; without JavaScript the browser posts the form itself and
  // the action answers with a redirect back here.
  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const formData = new FormData(event.currentTarget)
    formData.set('_fetcher', '1')
    // A second press, or leaving the page, abandons the request in flight: nothing to report.
    void Promise.resolve(fetcher.submit(formData, { method: 'post', action: SAVE_EVENT_ACTION })).catch(() => {})
  }

  if (!canSave && !isSaved && !usedHere) return null

  return (
    <form method="post" action={SAVE_EVENT_ACTION} className="save-event" onSubmit={handleSubmit}>
      <input type="hidden" name="eventId" value={eventId} />
      <input type="hidden" name="intent" value={isSaved ? 'unsave' : 'save'} />
      <input type="hidden" name="redirectTo" value={`${location.pathname}${location.search}`} />
      {/* The name starts "Save this event" / "Event saved" ("— remove" says pressing again undoes it); on a list of cards the event
          title, given as the description, tells the buttons apart. A hidden element still lends
          its text to aria-describedby without being read a second time in the page. */}
      <button
        type="submit"
        className="button button--secondary save-event__button"
        aria-pressed={isSaved}
        aria-describedby={descriptionId}
      >
        {isSaved ? (
          <>
            Event saved <span className="save-event__undo">— remove</span>
          </>
        ) : (
          'Save this event'
        )}
      </button>
      <span id={descriptionId} hidden>
        {eventTitle}
      </span>
      {refusal ? <span role="alert">{refusal}</span> : null}
    </form>
  )
}
