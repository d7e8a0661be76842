import { getFormProps, getInputProps, getSelectProps, useForm, type SubmissionResult } from '@conform-to/react'
import { parseWithZod } from '@conform-to/zod'
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { ErrorSummary, FieldError, withoutKey } from '#app/components/form-parts.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import {
  changeStaffRole,
  disableStaffMember,
  enableStaffMember,
  inviteStaffUser,
  listStaffUsers,
  resetStaffTwoFactor,
  type StaffUserListItem,
} from '#app/modules/staff/staff-users.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { requiredText } from '#app/utils/text-input.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'
import { isUuid } from '#app/utils/ids.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

export const handle = { staffRole: 'admin' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Staff users' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const ROLES = ['viewer', 'staff', 'admin'] as const
const ROLE_NAMES: Record<StaffRole, string> = { viewer: 'Viewer', staff: 'Staff', admin: 'Administrator' }
const roleSchema = z.enum(ROLES, { errorMap: () => ({ message: 'Choose viewer, staff or administrator' }) })

const inviteSchema = z.object({
  intent: z.literal('invite'),
  name: requiredText('Enter their name').pipe(z.string().max(100, 'The name must be 100 characters or fewer')),
  email: requiredText('Enter their email address').pipe(
    z.string().max(254, 'The email address must be 254 characters or fewer').email('Enter the email address in the right format, like name@example.org'),
  ),
  role: roleSchema,
})

const memberSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('role'), userId: z.string().refine((id) => isUuid(id)), role: roleSchema }),
  z.object({ intent: z.literal('disable'), userId: z.string().refine((id) => isUuid(id)) }),
  z.object({ intent: z.literal('enable'), userId: z.string().refine((id) => isUuid(id)) }),
  z.object({ intent: z.literal('reset-two-factor'), userId: z.string().refine((id) => isUuid(id)) }),
])

const DONE_MESSAGES: Record<string, string> = {
  invite: 'The invitation is on its way: a one-time sign-in link valid for 24 hours.',
  role: 'The role is changed.',
  disable: 'The account is disabled and signed out everywhere.',
  enable: 'The account is enabled again. They can ask for a sign-in link on the sign-in page.',
  'reset-two-factor': 'Their two-step sign-in is reset and they are signed out. They set it up again when they next sign in.',
}


export async function loader({ request }: LoaderFunctionArgs) {
  const me = await requireStaff(request, handle.staffRole)
  const done = new URL(request.url).searchParams.get('done') ?? ''
  const users = await listStaffUsers(getDb())
  return {
    meId: me.id,
    done: DONE_MESSAGES[done] ?? null,
    users: users.map((user: StaffUserListItem) => ({
      id: user.id,
      name: user.name,
      email: user.email,
      role: user.role,
      disabled: user.disabledAt !== null,
      disabledAt: user.disabledAt ? formatDateTime(user.disabledAt, organisationTimeZone()) : null,
      lastSignIn: user.lastSignInAt ? formatDateTime(user.lastSignInAt, organisationTimeZone()) : null,
      hasPassword: user.hasPassword,
      twoFactor: user.twoFactor,
    })),
  }
}

type MemberErrors = { intent: 'member'; userId: string; fieldErrors: Record<string, string> }

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const me = await requireStaff(request, handle.staffRole)
  const db = getDb()
  const formData = await readFormData(request)
  const done = (intent: string) => redirect(`/staff/users?done=${intent}`, { status: 303, headers: { 'Cache-Control': 'no-store' } })
  if (formData.get('intent') === 'invite') {
    const submission = parseWithZod(formData, { schema: inviteSchema })
    if (submission.status !== 'success') return data({ intent: 'invite' as const, invite: submission.reply() }, { status: 400 })
    const result = await inviteStaffUser(db, me.id, submission.value)
    if (!result.ok) {
      const { form, ...fieldErrors } = result.fieldErrors
      return data(
        {
          intent: 'invite' as const,
          invite: submission.reply({ formErrors: form ? [form] : [], fieldErrors: Object.fromEntries(Object.entries(fieldErrors).map(([key, message]) => [key, [message]])) }),
        },
        { status: 400 },
      )
    }
    return done('invite')
  }
  const parsed = memberSchema.safeParse(Object.fromEntries(formData))
  if (!parsed.success) {
    const userId = String(formData.get('userId') ?? '')
    const roleIssue = parsed.error.issues.find((issue) => issue.path[0] === 'role')
    const fieldErrors: Record<string, string> = roleIssue ? { role: roleIssue.message } : { form: 'Reload the page and try again' }
    return data({ intent: 'member', userId, fieldErrors } satisfies MemberErrors, { status: 400 })
  }
  const change = parsed.data
  const result =
    change.intent === 'role'
      ? await changeStaffRole(db, me.id, change.userId, change.role)
      : change.intent === 'disable'
        ? await disableStaffMember(db, me.id, change.userId)
        : change.intent === 'reset-two-factor'
          ? await resetStaffTwoFactor(db, me.id, change.userId)
          : await enableStaffMember(db, me.id, change.userId)
  if (!result.ok) return data({ intent: 'member', userId: change.userId, fieldErrors: result.fieldErrors } satisfies MemberErrors, { status: 400 })
  return done(change.intent)
}

export default function StaffUsers() {
  const { users, meId, done } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const memberErrors = result && result.intent === 'member' ? (result as MemberErrors) : null
  return (
    <div className="container page">
      <h1>Staff users</h1>
      {done && !result ? (
        <p className="lead" role="status">
          {done}
        </p>
      ) : null}
      <TableScroll label="Staff users">
        <table className="table staff-totals">
          <caption>Everyone who can sign in to the staff area</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">Two-step sign-in</th>
              <th scope="col">Account</th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => {
              const errors = memberErrors?.userId === user.id ? memberErrors.fieldErrors : {}
              const roleErrorId = `role-error-${user.id}`
              const accountErrorId = `account-error-${user.id}`
              const accountError = errors.disable ?? errors.form
              const twoFactorErrorId = `two-factor-error-${user.id}`
              return (
                <tr key={user.id}>
                  <th scope="row">
                    {user.name}
                    {user.id === meId ? ' (you)' : ''}
                  </th>
                  <td>{user.email}</td>
                  <td>
                    <Form method="post" className="staff-users__inline">
                      <input type="hidden" name="intent" value="role" />
                      <input type="hidden" name="userId" value={user.id} />
                      <label htmlFor={`role-${user.id}`} className="visually-hidden">
                        Role of {user.name}
                      </label>
                      {errors.role ? (
                        <p id={roleErrorId} className="field-error">
                          <span className="visually-hidden">Error: </span>
                          {errors.role}
                        </p>
                      ) : null}
                      <select
                        id={`role-${user.id}`}
                        name="role"
                        defaultValue={user.role}
                        aria-invalid={errors.role ? true : undefined}
                        aria-describedby={errors.role ? roleErrorId : undefined}
                      >
                        {ROLES.map((role) => (
                          <option key={role} value={role}>
                            {ROLE_NAMES[role]}
                          </option>
                        ))}
                      </select>{' '}
                      <button type="submit" className="button button--secondary">
                        Change role<span className="visually-hidden"> of {user.name}</span>
                      </button>
                    </Form>
                  </td>
                  <td>{user.lastSignIn ?? (user.hasPassword ? 'Not yet' : 'Not yet (invited)')}</td>
                  <td>
                    {user.twoFactor ? (
                      <Form method="post">
                        <input type="hidden" name="intent" value="reset-two-factor" />
                        <input type="hidden" name="userId" value={user.id} />
                        <span>On. </span>
                        {errors.twoFactor ? (
                          <p id={twoFactorErrorId} className="field-error">
                            <span className="visually-hidden">Error: </span>
                            {errors.twoFactor}
                          </p>
                        ) : null}
                        {user.id === meId ? null : (
                          <button type="submit" className="button button--secondary" aria-describedby={errors.twoFactor ? twoFactorErrorId : undefined}>
                            Reset<span className="visually-hidden"> two-step sign-in of {user.name}</span>
                          </button>
                        )}
                      </Form>
                    ) : (
                      <span>{user.role === 'admin' ? 'Off (set up at next sign-in)' : 'Off'}</span>
                    )}
                  </td>
                  <td>
                    <Form method="post">
                      <input type="hidden" name="intent" value={user.disabled ? 'enable' : 'disable'} />
                      <input type="hidden" name="userId" value={user.id} />
                      {user.disabled ? <span>Disabled {user.disabledAt}. </span> : <span>Active. </span>}
                      {accountError ? (
                        <p id={accountErrorId} className="field-error">
                          <span className="visually-hidden">Error: </span>
                          {accountError}
                        </p>
                      ) : null}
                      <button type="submit" className="button button--secondary" aria-describedby={accountError ? accountErrorId : undefined}>
                        {user.disabled ? 'Enable' : 'Disable'}
                        <span className="visually-hidden"> {user.name}</span>
                      </button>
                    </Form>
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </TableScroll>
      <InviteForm lastResult={result && result.intent === 'invite' ? result.invite : null} />
    </div>
  )
}

type InviteShape = { name: string; email: string; role: string }

function InviteForm({ lastResult }: { lastResult: SubmissionResult<string[]> | null }) {
  const [form, fields] = useForm<InviteShape>({ id: 'invite', lastResult, defaultValue: { role: 'staff' }, shouldValidate: 'onSubmit' })
  const navigation = useNavigation()
  const submitting = navigation.state !== 'idle' && navigation.formData?.get('intent') === 'invite'
  return (
    <section aria-labelledby="invite-title" className="section">
      <h2 id="invite-title">Invite someone</h2>
      <p>They get an email with a one-time sign-in link; they can set no password until they have signed in.</p>
      <Form method="post" {...getFormProps(form)}>
        <ErrorSummary
          id="invite-error-summary"
          formErrors={form.errors ?? []}
          items={[fields.name, fields.email, fields.role].map((field) => ({ errors: field.errors, target: field.id }))}
        />
        <input type="hidden" name="intent" value="invite" />
        <div className="field">
          <label htmlFor={fields.name.id}>Name</label>
          <FieldError field={fields.name} />
          <input {...withoutKey(getInputProps(fields.name, { type: 'text' }))} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor={fields.email.id}>Email address</label>
          <FieldError field={fields.email} />
          <input {...withoutKey(getInputProps(fields.email, { type: 'email' }))} autoComplete="off" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor={fields.role.id}>Role</label>
          <FieldError field={fields.role} />
          <select {...withoutKey(getSelectProps(fields.role))}>
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {ROLE_NAMES[role]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button" disabled={submitting}>
          {submitting ? 'Sending…' : 'Send the invitation'}
        </button>
      </Form>
    </section>
  )
}
