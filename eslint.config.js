import js from '@eslint/js'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/**
 * Each SDK belongs to exactly one adapter file; everything else calls the adapter
 * (docs/architecture.md). Type-only imports are allowed: they vanish from the build.
 */
const adapters = [
  { name: 'stripe', file: 'app/modules/payments/stripe.server.ts' },
  { name: 'resend', file: 'app/modules/email/resend.server.ts' },
  { name: 'graphile-worker', file: 'app/modules/jobs/jobs.server.ts' },
  { name: 'sharp', file: 'app/modules/appeals/photos/image.server.ts' },
  { name: 'pg', file: 'app/utils/db.server.ts' },
  { name: '@electric-sql/pglite', file: 'app/utils/embedded-database.server.ts' },
  { name: '@electric-sql/pglite-socket', file: 'app/utils/embedded-database.server.ts' },
]
const sdkRestrictions = (except) =>
  adapters
    .filter((adapter) => adapter.file !== except)
    .map((adapter) => ({ name: adapter.name, allowTypeImports: true, message: `Only ${adapter.file} may import ${adapter.name}: call it instead.` }))

/** The layers (docs/architecture.md): an arrow only ever points down, never back up. */
const layerZones = [
  {
    target: './app/modules',
    from: ['./app/routes', './app/components', './app/forms', './app/worker', './app/server', './app/root.tsx', './app/entry.server.tsx', './app/entry.client.tsx'],
    message: 'Modules never import routes, components, the worker or the server: pass what they need in.',
  },
  {
    target: './app/utils',
    from: ['./app/modules', './app/routes', './app/components', './app/forms', './app/worker', './app/server'],
    message: 'Utils import no modules: move the rule into the module that owns it, or pass it in.',
  },
  { target: ['./app', './emails', './scripts'], from: './tests', message: 'Test code stays in tests/: nothing the app runs may import it.' },
  { target: './db', from: ['./app', './scripts', './emails', './tests'], message: 'db/ (schema and migrations) imports nothing from the app.' },
  {
    target: './app/modules/donations',
    from: './app/modules/registrations',
    message: 'Donations and registrations do not know each other: the payments module joins them.',
  },
  {
    target: './app/modules/registrations',
    from: './app/modules/donations',
    message: 'Donations and registrations do not know each other: the payments module joins them.',
  },
  {
    target: './app/modules/!(payments)/**/*',
    from: './app/modules/payments',
    except: ['./stripe.server.ts', './stripe-event-objects.server.ts'],
    message: 'Outside payments/, only its Stripe adapter may be imported: the webhook, reconciliation and offline checkout sit above donations and registrations.',
  },
]

export default tseslint.config(
  { ignores: ['build/', 'public/build/', 'node_modules/', 'data/', '.cache/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { 'react-hooks': reactHooks, 'import-x': importX },
    settings: {
      // Which files import-x reads to follow imports (without this it skips every .ts file).
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-restricted-imports': ['error', { paths: sdkRestrictions(null) }],
    },
  },
  {
    files: ['app/**', 'db/**', 'emails/**', 'scripts/**'],
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
    },
  },
  ...adapters.map((adapter) => ({
    files: [adapter.file],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: sdkRestrictions(adapter.file) }] },
  })),
  {
    // Migrations describe any database at any time: they may not depend on today's app code.
    files: ['db/migrations/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests reach the far end of the network and the SDKs' own helpers directly.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  {
    files: ['tests/**', 'db/migrate.server.ts', 'tests/setup/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
)
