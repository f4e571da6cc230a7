// The browser entry: identities and secure connections on @noble/*, no node:* imports.
export * from "./shared.js";
export { createIdentity, cryptoProvider, cryptoProviderName, generateIdentity, identityFromSecretKey, loadOrCreateStoredIdentity, secureConnection, verifySignature, verifySignatureAsync } from "./browser-api.js";
export { IDENTITY_DB_NAME, storedIdentityProtection } from "./identity-store.js";
export type { StoredIdentityProtection } from "./identity-store.js";
