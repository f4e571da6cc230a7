// The Node entry: identities and secure connections on node:crypto.
// Browsers get ./browser.ts through the "browser" export condition.
export * from "./shared.js";
export { createIdentity, cryptoProvider, cryptoProviderName, generateIdentity, identityFromSecretKey, loadOrCreateStoredIdentity, secureConnection, verifySignature, verifySignatureAsync } from "./node-api.js";
export { IDENTITY_DB_NAME, storedIdentityProtection } from "./identity-store.js";
export type { StoredIdentityProtection } from "./identity-store.js";
