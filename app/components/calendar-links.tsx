/**
 * "Add to calendar": the event's .ics file from this site, and plain links to Google Calendar and
 * Outlook.com the person may choose to follow (nothing is fetched from Google or Microsoft), on
 * the event page and the booking page.
 */
export function CalendarLinks({ calendar, headingId }: { calendar: { icsUrl: string; googleUrl: string; outlookUrl: string }; headingId: string }) {
  return (
    <div className="event__calendar">
      <h3 id={headingId}>Add to calendar</h3>
      <ul className="event__calendar-links" aria-labelledby={headingId}>
        <li>
          <a href={calendar.icsUrl} download>
            Download .ics <span className="field__hint-inline">(Apple Calendar, Outlook and others)</span>
          </a>
        </li>
        <li>
          <a href={calendar.googleUrl} rel="nofollow noopener noreferrer">
            Google Calendar <span className="field__hint-inline">(opens Google’s website)</span>
          </a>
        </li>
        <li>
          <a href={calendar.outlookUrl} rel="nofollow noopener noreferrer">
            Outlook.com <span className="field__hint-inline">(opens Microsoft’s website)</span>
          </a>
        </li>
      </ul>
    </div>
  )
}
