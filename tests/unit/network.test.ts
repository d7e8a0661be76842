import { expect, test } from 'vitest'

test('a request to any outside host fails instead of reaching the network', async () => {
  await expect(fetch('https://api.stripe.com/v1/checkout/sessions')).rejects.toThrow()
})
