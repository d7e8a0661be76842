import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Modules that each belong to exactly one adapter file; everything else calls the adapter. */
const adapterOnlyImports = [
  { name: 'stripe', message: 'Only app/modules/payments/stripe.server.ts may import the Stripe SDK.' },
  { name: 'resend', message: 'Only app/modules/email/resend.server.ts may import the Resend SDK.' },
  { name: '@electric-sql/pglite', message: 'Only app/utils/embedded-database.server.ts may open PGlite.' },
  { name: '@electric-sql/pglite-socket', message: 'Only app/utils/embedded-database.server.ts may open PGlite.' },
]

export default tseslint.config(
  { ignores: ['build/', 'public/build/', 'node_modules/', 'data/', '.cache/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': ['error', { paths: adapterOnlyImports }],
    },
  },
  {
    // Migrations describe any database at any time: they may not depend on today's app code.
    files: ['db/migrations/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-restricted-imports': ['error', { patterns: [{ group: ['#app/*', '../../app/*', '../app/*'], message: 'Migrations never import app code.' }] }],
    },
  },
  {
    files: ['app/utils/embedded-database.server.ts', 'app/modules/payments/stripe.server.ts', 'app/modules/email/resend.server.ts', 'tests/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['tests/**', 'db/migrate.server.ts', 'tests/setup/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
)
