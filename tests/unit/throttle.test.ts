import { afterEach, expect, test, vi } from 'vitest'
import { createThrottle } from '#app/modules/email/throttle.server.ts'

afterEach(() => {
  vi.useRealTimers()
})

test('lets two sends a second through and queues the rest in order', async () => {
  vi.useFakeTimers()
  const throttle = createThrottle(2)
  const passed: number[] = []
  const waits = Array.from({ length: 5 }, (_, index) => throttle.wait().then(() => passed.push(index)))
  await vi.advanceTimersByTimeAsync(10)
  expect(passed).toEqual([0, 1])
  await vi.advanceTimersByTimeAsync(1_000)
  expect(passed).toEqual([0, 1, 2, 3])
  await vi.advanceTimersByTimeAsync(1_000)
  expect(passed).toEqual([0, 1, 2, 3, 4])
  await Promise.all(waits)
})

test('a rate of 0 turns the throttle off', async () => {
  vi.useFakeTimers()
  const throttle = createThrottle(0)
  const passed: number[] = []
  await Promise.all(Array.from({ length: 50 }, (_, index) => throttle.wait().then(() => passed.push(index))))
  expect(passed).toHaveLength(50)
})
