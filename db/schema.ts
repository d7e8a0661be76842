import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/**
 * The database as TypeScript sees it; db/migrations/ is the truth and this file follows it.
 * `Generated` marks columns the database fills in; int8 arrives as a number (db.server.ts).
 */

type Timestamp = ColumnType<Date, Date | string, Date | string>
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>
/** A jsonb column with a default: optional on insert. */
type JsonWithDefault<T> = ColumnType<T, string | undefined, string>

export type StaffRole = 'admin' | 'staff' | 'viewer'
export type AppealStatus = 'draft' | 'published' | 'closed'
export type DonationFrequency = 'one_off' | 'monthly'
export type DonationStatus = 'pending' | 'processing' | 'confirmed' | 'failed' | 'abandoned'
export type RecurringPlanStatus = 'pending' | 'active' | 'past_due' | 'cancelled' | 'abandoned'
export type LedgerEntryKind = 'charge' | 'refund' | 'dispute_hold' | 'dispute_release' | 'dispute_loss'
export type EventMode = 'in_person' | 'online'
export type EventStatus = 'draft' | 'published' | 'cancelled'
export type TicketKind = 'free' | 'paid' | 'pay_what_you_can'
export type RegistrationStatus =
  | 'held'
  | 'confirmed'
  | 'waitlisted'
  | 'offered'
  | 'cancelled'
  | 'expired'
  | 'refunded'
export type EmailStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'suppressed'
export type SuppressionReason = 'bounced' | 'complained' | 'manual'
export type WebhookProvider = 'stripe' | 'resend'

export interface OrganisationTable {
  id: Generated<number>
  name: string
  short_name: string
  tagline: string | null
  vision: string
  mission: string
  focus_areas: ColumnType<string[], string[] | undefined, string[]>
  primary_colour: Generated<string>
  accent_colour: Generated<string>
  contact_email: string | null
  website_url: string | null
  charity_number: string | null
  registered_address: string | null
  privacy_notice_markdown: string | null
  privacy_notice_updated_at: Date | null
  gift_aid_enabled: Generated<boolean>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface TestimonialsTable {
  id: Generated<string>
  quote: string
  author: string
  author_context: string | null
  position: Generated<number>
  published: Generated<boolean>
  created_at: CreatedAt
}

export interface StaffUsersTable {
  id: Generated<string>
  email: string
  name: string
  role: StaffRole
  password_hash: string | null
  disabled_at: Timestamp | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** When the last sign-in link email was queued for this member (at most one every few minutes). */
  sign_in_link_sent_at: Timestamp | null
  /** The TOTP secret, encrypted (app/modules/staff/two-factor.server.ts); null until set up. */
  totp_secret: string | null
  /** A secret being set up, encrypted, until the member proves it with a code. */
  totp_pending_secret: string | null
  totp_pending_at: Timestamp | null
  totp_enabled_at: Timestamp | null
  /** The last 30-second step whose code was accepted: a code is never accepted twice. */
  totp_last_step: number | null
}

export interface StaffSignInFailuresTable {
  /** sha256 of the normalised email typed in (known account or not). */
  account_key: string
  /** sha256 of the client address. */
  client_key: string
  failures: number
  last_failed_at: Generated<Date>
}

export interface StaffRecoveryCodesTable {
  id: Generated<string>
  staff_user_id: string
  code_hash: string
  used_at: Timestamp | null
  created_at: CreatedAt
}

export interface StaffSignInChallengesTable {
  token_hash: string
  staff_user_id: string
  method: 'password' | 'link'
  redirect_to: Generated<string>
  attempts: Generated<number>
  expires_at: Timestamp
  created_at: CreatedAt
}

export interface StaffSessionsTable {
  token_hash: string
  staff_user_id: string
  created_at: CreatedAt
  last_seen_at: Generated<Date>
  expires_at: Timestamp
}

export interface StaffSignInTokensTable {
  token_hash: string
  staff_user_id: string
  expires_at: Timestamp
  used_at: Timestamp | null
  created_at: CreatedAt
}

export interface AuditLogTable {
  id: Generated<number>
  staff_user_id: string | null
  action: string
  subject_type: string | null
  subject_id: string | null
  details: JsonWithDefault<Record<string, unknown>>
  created_at: CreatedAt
}

export interface SupportersTable {
  id: Generated<string>
  email: string | null
  name: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  erased_at: Timestamp | null
  /** When the person showed they read this address (a saved-events link confirmed); migration 0024. */
  email_confirmed_at: Timestamp | null
}

export interface EmailSuppressionsTable {
  email: string
  reason: SuppressionReason
  created_at: CreatedAt
}

export interface AppealsTable {
  id: Generated<string>
  slug: string
  title: string
  summary: string
  beneficiary_name: string
  beneficiary_is_pseudonym: Generated<boolean>
  story_markdown: string
  photo_path: string | null
  /** Set when the photo is in appeal_photos; null for none, and for the demo appeals' SVGs in public/. */
  photo_id: string | null
  photo_alt: string | null
  currency: string
  goal_minor: number
  suggested_amounts_minor: ColumnType<number[], number[] | undefined, number[]>
  status: ColumnType<AppealStatus, AppealStatus | undefined, AppealStatus>
  featured: Generated<boolean>
  published_at: Timestamp | null
  closes_at: Timestamp | null
  closed_at: Timestamp | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

/** An appeal photo's bytes, as re-encoded at upload (docs/decisions/015). */
export interface AppealPhotosTable {
  id: Generated<string>
  bytes: Uint8Array
  content_type: 'image/jpeg' | 'image/png' | 'image/webp'
  byte_size: number
  /** Hex SHA-256 of the bytes: the ETag, and part of the address. */
  sha256: string
  width: number
  height: number
  /** The name under /uploads/ it was imported from, if it was. */
  legacy_name: string | null
  created_at: CreatedAt
}

/** A view: the sum of an appeal's total shards (read only). */
export interface AppealTotalsTable {
  appeal_id: ColumnType<string, never, never>
  currency: ColumnType<string, never, never>
  confirmed_gross_minor: ColumnType<number, never, never>
  refunded_minor: ColumnType<number, never, never>
  disputed_minor: ColumnType<number, never, never>
  donation_count: ColumnType<number, never, never>
  donor_count: ColumnType<number, never, never>
  updated_at: ColumnType<Date, never, never>
  /**
   * All-time net of declared gifts, still kept up by the ledger but read by no page since ADR 017:
   * Gift Aid figures come from gift-aid.server.ts, by tax year. To be dropped with the view.
   */
  gift_aid_eligible_minor: ColumnType<number, never, never>
  /** Confirmed gross less refunds and disputes (held or lost): what the public sees as raised. */
  net_minor: ColumnType<number, never, never>
}

export interface AppealTotalShardsTable {
  appeal_id: string
  shard: number
  confirmed_gross_minor: Generated<number>
  refunded_minor: Generated<number>
  disputed_minor: Generated<number>
  donation_count: Generated<number>
  donor_count: Generated<number>
  updated_at: UpdatedAt
  gift_aid_eligible_minor: Generated<number>
}

/** One row per currency and supporter who has given in it: the organisation's unique donors. */
export interface OrganisationDonorsTable {
  currency: string
  supporter_id: string
  created_at: CreatedAt
}

export interface OrganisationDonorShardsTable {
  currency: string
  shard: number
  donor_count: Generated<number>
}

/** Confirmed gross per appeal and UTC day (a `date`, read back as YYYY-MM-DD text or Date). */
export interface AppealDailyGiftShardsTable {
  appeal_id: string
  day: ColumnType<Date, string, string>
  shard: number
  currency: string
  gross_minor: Generated<number>
  donation_count: Generated<number>
}

/** Active monthly gifts per appeal, kept by a trigger on recurring_plans (migration 0008). */
export interface AppealPlanShardsTable {
  appeal_id: string
  shard: number
  active_count: Generated<number>
  monthly_minor: Generated<number>
}

export interface AppealUpdatesTable {
  id: Generated<string>
  appeal_id: string
  title: string
  body_markdown: string
  published_at: ColumnType<Date, Date | string | undefined, Date | string>
  emailed_at: Timestamp | null
  author_staff_user_id: string | null
  created_at: CreatedAt
}

export interface GiftAidDeclarationsTable {
  id: Generated<string>
  supporter_id: string
  full_name: string
  house_name_or_number: string
  address: string
  postcode: string
  declaration_text: string
  declared_at: ColumnType<Date, Date | string | undefined, Date | string>
  cancelled_at: Timestamp | null
}

/** A batch of gifts staff marked as claimed from HMRC in one Charities Online claim (ADR 017). */
export interface GiftAidClaimsTable {
  id: Generated<string>
  /** The schedule's first and last UK days; read back with to_char, like appeal_daily_gift_shards.day. */
  gifts_from: ColumnType<Date, string, string>
  gifts_to: ColumnType<Date, string, string>
  staff_user_id: string | null
  claimed_at: CreatedAt
}

/** A gift in a claim, at the amount claimed; the primary key keeps it out of any other claim. */
export interface GiftAidClaimGiftsTable {
  donation_id: string
  claim_id: string
  amount_minor: number
}

/** Money given back after its gift was claimed, entered as an over-claim with a later claim. */
export interface GiftAidClaimAdjustmentsTable {
  claim_id: string
  donation_id: string
  amount_minor: number
}

export interface RecurringPlansTable {
  id: Generated<string>
  appeal_id: string
  supporter_id: string
  amount_minor: number
  currency: string
  status: ColumnType<RecurringPlanStatus, RecurringPlanStatus | undefined, RecurringPlanStatus>
  stripe_subscription_id: string | null
  stripe_customer_id: string | null
  started_at: Timestamp | null
  cancelled_at: Timestamp | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface DonationsTable {
  id: Generated<string>
  appeal_id: string
  supporter_id: string
  recurring_plan_id: string | null
  frequency: DonationFrequency
  amount_minor: number
  fee_cover_minor: Generated<number>
  currency: string
  status: ColumnType<DonationStatus, DonationStatus | undefined, DonationStatus>
  refunded_minor: Generated<number>
  disputed_minor: Generated<number>
  donor_name: string | null
  donor_email: string | null
  message: string | null
  show_name: Generated<boolean>
  show_amount: Generated<boolean>
  show_message: Generated<boolean>
  updates_opt_in: Generated<boolean>
  gift_aid_declaration_id: string | null
  stripe_checkout_session_id: string | null
  stripe_payment_intent_id: string | null
  stripe_charge_id: string | null
  stripe_invoice_id: string | null
  stripe_subscription_id: string | null
  stripe_customer_id: string | null
  checkout_submission_id: string | null
  /** The donation this one is a second payment for (the donor paid twice), or null. */
  second_payment_of: string | null
  /** Staff said the donor meant to pay twice: no longer listed for a refund. */
  second_payment_kept_at: Timestamp | null
  /** A hash of the address the checkout came from, for the card-testing limit; null after a day. */
  checkout_client_key: string | null
  confirmed_at: Timestamp | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface LedgerEntriesTable {
  id: Generated<number>
  donation_id: string
  appeal_id: string
  kind: LedgerEntryKind
  amount_minor: number
  currency: string
  stripe_object_id: string
  stripe_event_id: string | null
  occurred_at: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
}

export interface DonationEventsTable {
  id: Generated<number>
  donation_id: string
  type: string
  detail: JsonWithDefault<Record<string, unknown>>
  stripe_event_id: string | null
  created_at: CreatedAt
}

export interface EventsTable {
  id: Generated<string>
  slug: string
  title: string
  summary: string
  description_markdown: string
  starts_at: Timestamp
  ends_at: Timestamp
  time_zone: string
  mode: EventMode
  venue_name: string | null
  venue_address: string | null
  access_notes: string | null
  online_url: string | null
  organiser_name: string
  capacity: number
  places_taken: Generated<number>
  max_per_order: Generated<number>
  status: ColumnType<EventStatus, EventStatus | undefined, EventStatus>
  featured: Generated<boolean>
  published_at: Timestamp | null
  cancelled_at: Timestamp | null
  /** When the time, place or joining details last changed: the public calendar file's SEQUENCE. */
  calendar_changed_at: Timestamp | null
  /** Unpaid holds one client address may have open at once; null: the UNPAID_HOLDS_PER_CLIENT setting (migration 0026). */
  unpaid_holds_per_client: number | null
  /** The cover's address; with an id, in appeal_photos (migration 0030); without, a demo file in public/. */
  cover_photo_path: string | null
  cover_photo_id: string | null
  cover_photo_alt: string | null
  /** Registrations one client address may make for this event in ten minutes; null: the REGISTRATION_RATE_LIMIT setting (migration 0031). */
  registration_rate_limit: number | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface TicketTypesTable {
  id: Generated<string>
  event_id: string
  name: string
  kind: TicketKind
  price_minor: Generated<number>
  min_price_minor: Generated<number>
  currency: string
  position: Generated<number>
  created_at: CreatedAt
}

export interface RegistrationsTable {
  id: Generated<string>
  event_id: string
  ticket_type_id: string
  supporter_id: string | null
  name: string
  email: string
  quantity: Generated<number>
  amount_minor: Generated<number>
  currency: string
  status: RegistrationStatus
  is_group_booking: Generated<boolean>
  access_needs: string | null
  privacy_consent_at: Timestamp
  hold_expires_at: Timestamp | null
  waitlisted_at: Timestamp | null
  offer_expires_at: Timestamp | null
  checkin_token: string | null
  checked_in_at: Timestamp | null
  reminder_sent_at: Timestamp | null
  stripe_checkout_session_id: string | null
  stripe_payment_intent_id: string | null
  confirmed_at: Timestamp | null
  cancelled_at: Timestamp | null
  submission_id: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** Stripe's cumulative refunded amount for this place (migration 0014). */
  refunded_minor: Generated<number>
  /** A hash of the client address a hold came from, to count its open holds (migration 0026). */
  client_key: string | null
  /** When the person confirmed their address from the waitlist email; only then are they offered a place (migration 0026). */
  waitlist_confirmed_at: Timestamp | null
}

export interface SaversTable {
  id: Generated<string>
  supporter_id: string | null
  alerts_reminder: Generated<boolean>
  alerts_few_places: Generated<boolean>
  created_at: CreatedAt
  /** Set when this saver was joined into another (a second device): read that one instead. */
  merged_into_id: string | null
}

/** A one-time link to keep saved events on another device (only the token's hash is kept). */
export interface SaverLinksTable {
  token_hash: string
  saver_id: string
  email: string
  alerts_reminder: Generated<boolean>
  alerts_few_places: Generated<boolean>
  expires_at: Timestamp
  created_at: CreatedAt
}

export interface SavedEventsTable {
  saver_id: string
  event_id: string
  reminder_sent_at: Timestamp | null
  few_places_sent_at: Timestamp | null
  created_at: CreatedAt
}

export interface WebhookEventsTable {
  provider: WebhookProvider
  event_id: string
  type: string
  received_at: CreatedAt
}

export interface EmailOutboxTable {
  id: Generated<string>
  template: string
  idempotency_key: string
  to_address: string
  props: JsonWithDefault<Record<string, unknown>>
  status: ColumnType<EmailStatus, EmailStatus | undefined, EmailStatus>
  attempts: Generated<number>
  last_error: string | null
  provider_message_id: string | null
  delivered_at: Timestamp | null
  sent_at: Timestamp | null
  attachments: ColumnType<EmailAttachment[], string | undefined, string>
  claimed_at: Timestamp | null
  next_attempt_at: Timestamp | null
  retry_window_started_at: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** When its delivery job was added; null until then (migration 0012). */
  job_scheduled_at: Timestamp | null
  /** One request per email, or up to 100 to a batch request (migration 0020). */
  delivery: ColumnType<EmailDelivery, EmailDelivery | undefined, EmailDelivery>
}

export type EmailDelivery = 'single' | 'batch'
export type EmailBatchStatus = 'sending' | 'waiting' | 'sent' | 'failed' | 'split'

/** One batch request to Resend (migration 0020, docs/decisions/018-email-batches.md). */
export interface EmailBatchesTable {
  id: Generated<string>
  status: ColumnType<EmailBatchStatus, EmailBatchStatus | undefined, EmailBatchStatus>
  attempts: Generated<number>
  claimed_by: string | null
  claimed_at: Timestamp | null
  next_attempt_at: Timestamp | null
  last_error: string | null
  sent_at: Timestamp | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

/** Which outbox rows a batch request carries, in request order. */
export interface EmailBatchMembersTable {
  batch_id: string
  position: number
  outbox_id: string
}

/** An attachment as the outbox keeps it: small files only (a calendar entry, a ticket). */
export type EmailAttachment = { filename: string; contentType: string; contentBase64: string }

export interface DevMailboxTable {
  id: Generated<string>
  outbox_id: string | null
  from_address: string
  to_address: string
  subject: string
  html: string
  text: string
  attachments: JsonWithDefault<EmailAttachment[]>
  created_at: CreatedAt
}

export type StripeInboxState = 'pending' | 'applied' | 'waiting' | 'parked'
export type StripeInboxSource = 'webhook' | 'reconciliation' | 'offline' | 'migration'

export interface StripeInboxTable {
  event_id: string
  type: string
  stripe_created_at: Date
  payload: string | null
  source: ColumnType<StripeInboxSource, StripeInboxSource | undefined, StripeInboxSource>
  state: ColumnType<StripeInboxState, StripeInboxState | undefined, StripeInboxState>
  waits_for: string | null
  attempts: Generated<number>
  next_attempt_at: ColumnType<Date, Date | undefined, Date>
  last_error: string | null
  received_at: CreatedAt
  applied_at: Date | null
}

export interface AppealDonorsTable {
  appeal_id: string
  supporter_id: string
  first_donation_id: string
  created_at: CreatedAt
}

/** Which payment intent paid which invoice (from `invoice_payment.paid`). */
export interface InvoicePaymentsTable {
  payment_intent_id: string
  invoice_id: string
  created_at: CreatedAt
}

export interface DB {
  invoice_payments: InvoicePaymentsTable
  appeal_donors: AppealDonorsTable
  organisation_donors: OrganisationDonorsTable
  organisation_donor_shards: OrganisationDonorShardsTable
  appeal_daily_gift_shards: AppealDailyGiftShardsTable
  appeal_plan_shards: AppealPlanShardsTable
  stripe_inbox: StripeInboxTable
  organisation: OrganisationTable
  testimonials: TestimonialsTable
  staff_users: StaffUsersTable
  staff_sessions: StaffSessionsTable
  staff_sign_in_tokens: StaffSignInTokensTable
  staff_sign_in_failures: StaffSignInFailuresTable
  staff_recovery_codes: StaffRecoveryCodesTable
  staff_sign_in_challenges: StaffSignInChallengesTable
  audit_log: AuditLogTable
  supporters: SupportersTable
  email_suppressions: EmailSuppressionsTable
  appeals: AppealsTable
  appeal_photos: AppealPhotosTable
  appeal_totals: AppealTotalsTable
  appeal_total_shards: AppealTotalShardsTable
  appeal_updates: AppealUpdatesTable
  gift_aid_declarations: GiftAidDeclarationsTable
  gift_aid_claims: GiftAidClaimsTable
  gift_aid_claim_gifts: GiftAidClaimGiftsTable
  gift_aid_claim_adjustments: GiftAidClaimAdjustmentsTable
  recurring_plans: RecurringPlansTable
  donations: DonationsTable
  ledger_entries: LedgerEntriesTable
  donation_events: DonationEventsTable
  events: EventsTable
  ticket_types: TicketTypesTable
  registrations: RegistrationsTable
  savers: SaversTable
  saved_events: SavedEventsTable
  saver_links: SaverLinksTable
  webhook_events: WebhookEventsTable
  email_outbox: EmailOutboxTable
  email_batches: EmailBatchesTable
  email_batch_members: EmailBatchMembersTable
  dev_mailbox: DevMailboxTable
}

export type Appeal = Selectable<AppealsTable>
export type NewAppeal = Insertable<AppealsTable>
export type AppealUpdate = Updateable<AppealsTable>
export type Event = Selectable<EventsTable>
export type NewEvent = Insertable<EventsTable>
