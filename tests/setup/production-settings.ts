/**
 * Every setting production refuses to start without, as placeholders nothing ever sends to Stripe
 * or Resend: for tests that need NODE_ENV=production's behaviour (cookie names, the listening
 * address, Express's error output). Override APP_URL where the address matters.
 */
export const PRODUCTION_SETTINGS = {
  NODE_ENV: 'production',
  SESSION_SECRET: 'x'.repeat(32),
  RESEND_API_KEY: 're_placeholder',
  RESEND_WEBHOOK_SECRET: 'whsec_placeholder',
  EMAIL_FROM: 'Sanad <no-reply@sanad.localhost>',
  STRIPE_SECRET_KEY: 'sk_test_placeholder',
  STRIPE_WEBHOOK_SECRET: 'whsec_placeholder',
  APP_URL: 'https://donate.example.org',
} as const
