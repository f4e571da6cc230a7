// The Node entry: identities and secure connections on node:crypto.
// Browsers get ./browser.ts through the "browser" export condition.
export * from "./shared.js";
export { cryptoProvider, cryptoProviderName, generateIdentity, identityFromSecretKey, secureConnection, verifySignature } from "./node-api.js";
