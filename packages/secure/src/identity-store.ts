/**
 * A page's identity kept in IndexedDB, so a tab keeps its peer id across
 * reloads (the browser's counterpart of `loadOrCreateIdentity(path)`).
 *
 * What is kept is the 32-byte seed; a page's node signs with it through
 * WebCrypto (a non-extractable Ed25519 key made from it at load), or with
 * `@noble/curves` where WebCrypto lacks Ed25519. At rest it is sealed with
 * AES-256-GCM under a non-extractable WebCrypto key kept in the same record:
 * the record cannot be copied out of the profile and read elsewhere by
 * script, and no page script can export the wrapping key. Where WebCrypto is
 * missing (a page served over plain http from another host is not a secure
 * context), the seed is stored as is, and `storedIdentityProtection()` says so.
 */

import { SECURE_ERROR_CODES, SecureError } from "./errors.js";
import { identityFromSecretKeyWith, type Identity } from "./identity.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/** The IndexedDB database and object store identities are kept in. */
export const IDENTITY_DB_NAME = "xppg-identity";
const STORE = "identities";
const RECORD_VERSION = 1;

/** How a stored identity's seed is kept at rest. */
export type StoredIdentityProtection = "webcrypto-wrapped" | "plain";

/** The record in IndexedDB (structured-cloned; a CryptoKey survives as is). */
interface StoredRecord {
  v: number;
  /** AES-GCM key (non-extractable) and the sealed seed, or the seed itself. */
  wrapKey?: unknown;
  iv?: Uint8Array;
  sealed?: Uint8Array;
  seed?: Uint8Array;
}

/* The few IndexedDB and WebCrypto shapes used here (this package compiles without the DOM library). */
interface IdbRequest<T> {
  result: T;
  error: { message: string } | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: "readonly" | "readwrite"): IdbTransaction;
  close(): void;
}
interface IdbTransaction {
  objectStore(name: string): { get(key: string): IdbRequest<unknown>; add(value: unknown, key: string): IdbRequest<unknown> };
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  error: { message: string } | null;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}
interface Subtle {
  generateKey(algorithm: { name: string; length: number }, extractable: boolean, usages: string[]): Promise<unknown>;
  encrypt(algorithm: { name: string; iv: Uint8Array }, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: { name: string; iv: Uint8Array }, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

function storeError(what: ErrorText, cause?: unknown): SecureError {
  return new SecureError(
    SECURE_ERROR_CODES.IDENTITY_STORE,
    ERROR_TEXTS ? `The page's identity store (IndexedDB "${IDENTITY_DB_NAME}") ${what}. The page can still run with a new identity each load: { identity: generateIdentity() }. Check that the browser allows this site to store data (private windows and blocked storage do not).` : [IDENTITY_DB_NAME, what],
    { cause },
  );
}

function idb(): IdbFactory {
  const factory = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (factory === undefined) throw storeError(ERROR_TEXTS ? "does not exist here (no indexedDB in this environment)" : []);
  return factory;
}

function subtle(): Subtle | undefined {
  return (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
}

function request<T>(req: IdbRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(storeError(ERROR_TEXTS ? `could not ${what}: ${req.error?.message ?? "unknown error"}` : [what, req.error?.message ?? "unknown error"]));
  });
}

function openDb(): Promise<IdbDatabase> {
  const req = idb().open(IDENTITY_DB_NAME, 1);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
  };
  req.onblocked = () => {};
  return request(req, "be opened");
}

/** A new record for a fresh seed: sealed under a new non-extractable key where WebCrypto exists. */
async function newRecord(seed: Uint8Array, random: (n: number) => Uint8Array): Promise<StoredRecord> {
  const s = subtle();
  if (s === undefined) return { v: RECORD_VERSION, seed };
  const wrapKey = await s.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const iv = random(12);
  const sealed = new Uint8Array(await s.encrypt({ name: "AES-GCM", iv }, wrapKey, seed));
  return { v: RECORD_VERSION, wrapKey, iv, sealed };
}

async function seedOf(record: StoredRecord): Promise<Uint8Array> {
  if (record.v !== RECORD_VERSION) throw storeError(ERROR_TEXTS ? `holds a record of version ${String(record.v)}, which this version cannot read` : [String(record.v)]);
  if (record.seed instanceof Uint8Array && record.seed.length === 32) return record.seed;
  const s = subtle();
  if (record.wrapKey === undefined || !(record.iv instanceof Uint8Array) || !(record.sealed instanceof Uint8Array)) throw storeError(ERROR_TEXTS ? "holds a malformed record" : []);
  if (s === undefined) throw storeError(ERROR_TEXTS ? "holds a sealed identity, and WebCrypto is missing here (open the page over https or from localhost, as when it was made)" : []);
  try {
    return new Uint8Array(await s.decrypt({ name: "AES-GCM", iv: record.iv }, record.wrapKey, record.sealed));
  } catch (cause) {
    throw storeError(ERROR_TEXTS ? "holds an identity that could not be unsealed" : [], cause);
  }
}

/** Reads the record under `name`, or adds `fresh` there when there is none, in one transaction (two tabs starting at once get the same identity). */
async function getOrAdd(db: IdbDatabase, name: string, fresh: StoredRecord): Promise<StoredRecord> {
  const tx = db.transaction(STORE, "readwrite");
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(storeError(ERROR_TEXTS ? `could not be written: ${tx.error?.message ?? "the transaction was aborted"}` : [tx.error?.message ?? "the transaction was aborted"]));
  });
  // When the read below fails first, its error is the one reported: the transaction's own rejection is then not left unhandled.
  done.catch(() => {});
  const store = tx.objectStore(STORE);
  const found = await request(store.get(name), "be read");
  let record: StoredRecord;
  if (found !== undefined) record = found as StoredRecord;
  else {
    record = fresh;
    store.add(fresh, name);
  }
  await done;
  return record;
}

/** Loads the identity stored under `name`, or creates and stores one (with `provider`; `make` turns the seed into the identity). */
export async function loadOrCreateStoredIdentityWith(
  provider: Pick<CryptoProvider, "randomBytes" | "ed25519Signer">,
  name: string,
  make: (seed: Uint8Array) => Identity | Promise<Identity> = (seed) => identityFromSecretKeyWith(provider, seed),
): Promise<Identity> {
  if (typeof name !== "string" || name.length === 0 || name.length > 256) {
    throw new SecureError(SECURE_ERROR_CODES.IDENTITY_STORE, ERROR_TEXTS ? `The identity name must be 1 to 256 characters, got ${JSON.stringify(name)}. Use your app's name: loadOrCreateStoredIdentity("my-app").` : [JSON.stringify(name)]);
  }
  const fresh = await newRecord(provider.randomBytes(32), (n) => provider.randomBytes(n));
  const db = await openDb();
  try {
    const record = await getOrAdd(db, name, fresh);
    return await make(await seedOf(record));
  } finally {
    db.close();
  }
}

/** How `loadOrCreateStoredIdentity` keeps a new seed here: sealed by WebCrypto, or plain where WebCrypto is missing. */
export function storedIdentityProtection(): StoredIdentityProtection {
  return subtle() === undefined ? "plain" : "webcrypto-wrapped";
}
