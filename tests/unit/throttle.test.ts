import { afterEach, expect, test, vi } from 'vitest'
import { createThrottle, THROTTLE_ALLOWANCE_MS } from '#app/modules/email/throttle.server.ts'

afterEach(() => {
  vi.useRealTimers()
})

const WINDOW = 1000 + THROTTLE_ALLOWANCE_MS

test('lets two sends a second through and queues the rest in order', async () => {
  vi.useFakeTimers()
  const throttle = createThrottle(2)
  const passed: number[] = []
  const waits = Array.from({ length: 5 }, (_, index) => throttle.wait().then(() => passed.push(index)))
  await vi.advanceTimersByTimeAsync(10)
  expect(passed).toEqual([0, 1])
  await vi.advanceTimersByTimeAsync(WINDOW - 20)
  expect(passed).toEqual([0, 1])
  await vi.advanceTimersByTimeAsync(20)
  expect(passed).toEqual([0, 1, 2, 3])
  await vi.advanceTimersByTimeAsync(WINDOW)
  expect(passed).toEqual([0, 1, 2, 3, 4])
  await Promise.all(waits)
})

test('a single email waiting beside batches goes at the next turn, ahead of them', async () => {
  vi.useFakeTimers()
  const throttle = createThrottle(2)
  const passed: string[] = []
  const waits = ['batch 1', 'batch 2', 'batch 3', 'batch 4'].map((name) => throttle.wait('batch').then(() => passed.push(name)))
  await vi.advanceTimersByTimeAsync(10)
  expect(passed).toEqual(['batch 1', 'batch 2'])
  waits.push(throttle.wait('single').then(() => passed.push('receipt')))
  await vi.advanceTimersByTimeAsync(WINDOW)
  expect(passed).toEqual(['batch 1', 'batch 2', 'receipt', 'batch 3'])
  await vi.advanceTimersByTimeAsync(WINDOW)
  expect(passed).toEqual(['batch 1', 'batch 2', 'receipt', 'batch 3', 'batch 4'])
  await Promise.all(waits)
})

test('a pause (Resend’s Retry-After) holds every caller back until it ends', async () => {
  vi.useFakeTimers()
  const throttle = createThrottle(2)
  const passed: number[] = []
  await throttle.wait()
  throttle.pause(3_000)
  const waits = [0, 1].map((index) => throttle.wait(index === 0 ? 'single' : 'batch').then(() => passed.push(index)))
  await vi.advanceTimersByTimeAsync(2_990)
  expect(passed).toEqual([])
  await vi.advanceTimersByTimeAsync(20)
  expect(passed).toEqual([0, 1])
  await Promise.all(waits)
})

test('a rate of 0 turns the throttle off', async () => {
  vi.useFakeTimers()
  const throttle = createThrottle(0)
  const passed: number[] = []
  await Promise.all(Array.from({ length: 50 }, (_, index) => throttle.wait().then(() => passed.push(index))))
  expect(passed).toHaveLength(50)
})
