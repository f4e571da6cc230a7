// The browser entry: identities and secure connections on @noble/*, no node:* imports.
export * from "./shared.js";
export { cryptoProvider, cryptoProviderName, generateIdentity, identityFromSecretKey, secureConnection, verifySignature } from "./browser-api.js";
