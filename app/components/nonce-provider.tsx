import { createContext, useContext } from 'react'

/**
 * The script nonce of the document being rendered. Only the server knows it: browsers hide nonce
 * attributes from scripts, so on the client it is empty and React leaves the attributes alone.
 */
const NonceContext = createContext('')

export const NonceProvider = NonceContext.Provider

export function useNonce(): string {
  return useContext(NonceContext)
}
