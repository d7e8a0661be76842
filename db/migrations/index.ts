import type { Migration } from 'kysely'
import * as initialDataModel from './0001-initial-data-model.ts'
import * as emailDelivery from './0002-email-delivery.ts'
import * as donationCheckout from './0003-donation-checkout.ts'
import * as deferredStripeEvents from './0004-deferred-stripe-events.ts'
import * as registrationSubmissions from './0005-registration-submissions.ts'
import * as appealDonors from './0006-appeal-donors.ts'
import * as appealTotalShards from './0007-appeal-total-shards.ts'
import * as keptUpCampaignTotals from './0008-kept-up-campaign-totals.ts'
import * as emailJobScheduling from './0012-email-job-scheduling.ts'
import * as invoicePayments from './0013-invoice-payments.ts'
import * as registrationRefunds from './0014-registration-refunds.ts'
import * as saverLinks from './0010-saver-links.ts'
import * as appealPhotos from './0015-appeal-photos.ts'
import * as appealNetRaised from './0016-appeal-net-raised.ts'
import * as eventCalendarChangedAt from './0017-event-calendar-changed-at.ts'
import * as stripeInbox from './0018-stripe-inbox.ts'
import * as giftAidClaims from './0019-gift-aid-claims.ts'
import * as emailBatches from './0020-email-batches.ts'
import * as secondPayments from './0021-second-payments.ts'
import * as checkoutClientKey from './0022-checkout-client-key.ts'
import * as staffSignInSecurity from './0023-staff-sign-in-security.ts'
import * as unconfirmedEmailLimit from './0024-unconfirmed-email-limit.ts'
import * as holdLimitsAndConfirmedWaitlist from './0026-hold-limits-and-confirmed-waitlist.ts'
import * as organisationTrust from './0029-organisation-trust.ts'
import * as eventRegistrationRateLimit from './0031-event-registration-rate-limit.ts'
import * as secondPaymentKept from './0032-second-payment-kept.ts'
import * as eventCoverPhotos from './0033-event-cover-photos.ts'

/**
 * Every migration, in order. Listed by hand (not read from the folder) so that the same list
 * works under tsx, vitest and the Remix build. Never rename or reorder an entry.
 */
export const migrations: Record<string, Migration> = {
  '0001-initial-data-model': initialDataModel,
  '0002-email-delivery': emailDelivery,
  '0003-donation-checkout': donationCheckout,
  '0004-deferred-stripe-events': deferredStripeEvents,
  '0005-registration-submissions': registrationSubmissions,
  '0006-appeal-donors': appealDonors,
  '0007-appeal-total-shards': appealTotalShards,
  '0008-kept-up-campaign-totals': keptUpCampaignTotals,
  '0010-saver-links': saverLinks,
  '0012-email-job-scheduling': emailJobScheduling,
  '0013-invoice-payments': invoicePayments,
  '0014-registration-refunds': registrationRefunds,
  '0015-appeal-photos': appealPhotos,
  '0016-appeal-net-raised': appealNetRaised,
  '0017-event-calendar-changed-at': eventCalendarChangedAt,
  '0018-stripe-inbox': stripeInbox,
  '0019-gift-aid-claims': giftAidClaims,
  '0020-email-batches': emailBatches,
  '0021-second-payments': secondPayments,
  '0022-checkout-client-key': checkoutClientKey,
  '0023-staff-sign-in-security': staffSignInSecurity,
  '0024-unconfirmed-email-limit': unconfirmedEmailLimit,
  '0026-hold-limits-and-confirmed-waitlist': holdLimitsAndConfirmedWaitlist,
  '0029-organisation-trust': organisationTrust,
  '0031-event-registration-rate-limit': eventRegistrationRateLimit,
  '0032-second-payment-kept': secondPaymentKept,
  '0033-event-cover-photos': eventCoverPhotos,
}
