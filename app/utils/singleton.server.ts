/**
 * Keeps one instance of a value per process, even when a module is loaded twice: once by the
 * HTTP server and once inside the Remix build, or again after a dev rebuild.
 */
function store() {
  const global = globalThis as unknown as { __sanadSingletons?: Map<string, unknown> }
  global.__sanadSingletons ??= new Map()
  return global.__sanadSingletons
}

export function singleton<Value>(name: string, create: () => Value): Value {
  const values = store()
  if (!values.has(name)) values.set(name, create())
  return values.get(name) as Value
}

/** Removes a singleton and hands back its value (if it was ever made) for closing. */
export function takeSingleton<Value>(name: string): Value | undefined {
  const values = store()
  const value = values.get(name) as Value | undefined
  values.delete(name)
  return value
}
