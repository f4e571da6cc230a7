// The browser entry: identities and secure connections on @noble/*, no node:* imports.
export * from "./shared.js";
export { cryptoProvider, cryptoProviderName, generateIdentity, identityFromSecretKey, loadOrCreateStoredIdentity, secureConnection, verifySignature } from "./browser-api.js";
export { IDENTITY_DB_NAME, storedIdentityProtection } from "./identity-store.js";
export type { StoredIdentityProtection } from "./identity-store.js";
