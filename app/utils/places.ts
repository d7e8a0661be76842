/** "12 places left", "1 place left", or "Full: join the waitlist". */
export function placesLeftLabel(placesLeft: number) {
  if (placesLeft <= 0) return 'Full: join the waitlist'
  return placesLeft === 1 ? '1 place left' : `${placesLeft} places left`
}
