import { ERROR_TEXTS, badArgumentError, isXppgError } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { MAX_FRAME_SIZE_LIMIT, MAX_TIMER_MS, checkInteger } from "@xppg/transport/adapter";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_NOISE_CIPHER,
  type NoiseCipher,
} from "./constants.js";
import type { CryptoProvider, HandshakeCrypto, X25519KeyPair } from "./crypto/provider.js";
import { handshakeAbortedError, handshakeFailedError, handshakeTimeoutError, identitySignError, peerIdMismatchError } from "./errors.js";
import { encodeHandshakePayloadAsync, verifyHandshakePayloadAsync } from "./handshake-payload.js";
import type { Identity } from "./identity.js";
import { HandshakeState } from "./noise/handshake-state.js";
import { publicKeyFromPeerId } from "./peer-id.js";
import { SecureChannel, type LinkMaker, type SecureConnection } from "./secure-channel.js";

/** Options for `secureConnection`. */
export interface SecureConnectionOptions {
  /** This node's identity; the peer learns and checks its peer id. */
  identity: Identity;
  /**
   * The peer id the other side must prove. When set and another key
   * answers, the connection is closed and the promise rejects with
   * `XPPG_ERR_PEER_ID_MISMATCH`. Set it whenever you dial a known peer.
   * @default undefined (any identity is accepted; read `remotePeerId`)
   */
  expectedPeerId?: string;
  /**
   * Time the handshake may take before the connection is closed with `XPPG_ERR_HANDSHAKE_TIMEOUT`.
   * @default 5000
   */
  handshakeTimeoutMs?: number;
  /**
   * Largest frame sent or accepted, in bytes. A larger `send` rejects with
   * `XPPG_ERR_FRAME_TOO_LARGE` and the connection stays usable; a peer that
   * sends one loses its connection. Keep it equal on both peers.
   * @default 1048576 (1 MiB)
   */
  maxFrameSize?: number;
  /**
   * Bytes buffered per direction: `send` resolves at once while less than
   * this, and at most 512 KiB (the connection below buffers too, up to its
   * own high-water mark), is waiting to be taken by the connection below,
   * and a paused receiver stops reading the connection below once this much
   * waits for it.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /**
   * Bytes both sides must agree on before the handshake (a protocol name and
   * version, say); a different prologue makes the handshake fail.
   * @default empty
   */
  prologue?: Uint8Array;
  /**
   * The Noise cipher, fixed: `"AESGCM"` (AES-256-GCM, `Noise_XX_25519_AESGCM_SHA256`)
   * or `"ChaChaPoly"` (ChaCha20-Poly1305, `Noise_XX_25519_ChaChaPoly_SHA256`);
   * the other side must run the same one, or the handshake fails with
   * `XPPG_ERR_HANDSHAKE_FAILED`. Unset, the handshake negotiates: a page
   * offers AESGCM (WebCrypto's), a responder takes it when offered, and
   * otherwise both run ChaChaPoly (README, "Cipher negotiation").
   * @default negotiated (ChaChaPoly between two Node peers)
   */
  cipher?: NoiseCipher;
  /**
   * Abort the handshake: the connection is closed and the promise rejects
   * with `XPPG_ERR_ABORTED`. It has no effect once the handshake is done.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Called once, a microtask after the peer's authenticated end of stream
   * arrives (its `close()` or `closeWrite()`); the frames the peer sent
   * before it are delivered by then, or held for a reader that is paused
   * (they reach it when it resumes): the peer sends nothing more, and nothing on the path can
   * forge this (a cut connection closes without it). This side may still
   * send until it closes. A half close's owner learns here that the peer
   * has ended too. `counted` is what the peer's end of stream counted
   * (`countedEnd`): the low 23 bits of the number of this side's records it
   * had received (`unconfirmedRecords(secure.recordsSent, counted)` says how
   * many it had not); undefined for an end of stream with no count.
   * @default undefined
   */
  onRemoteEnd?: (counted: number | undefined) => void;
  /**
   * This side's end of stream (`close()`, `closeWrite()`) carries the count
   * of the peer's records it received, for `onRemoteEnd` at the peer. Only
   * for a protocol whose older peers may miss the end of stream: a reader
   * from before counted ends reads it as a frame header never finished, and
   * sees no end (README, "Half close").
   * @default false
   */
  countedEnd?: boolean;
}

interface StaticKey {
  keyPair: X25519KeyPair;
  payload: Uint8Array;
}

// One Noise static key per identity (and key agreement), made and signed
// once: a handshake then costs no Ed25519 signature.
const staticKeys = new WeakMap<Identity, { crypto: HandshakeCrypto; key: Promise<StaticKey> }>();

/** The static key of `identity` for `crypto`, signed with `signAsync` (at once in Node, on WebCrypto in a page). */
function staticKeyFor(crypto: HandshakeCrypto, identity: Identity): Promise<StaticKey> {
  const entry = staticKeys.get(identity);
  if (entry !== undefined && entry.crypto === crypto) return entry.key;
  const key = (async () => {
    const keyPair = await crypto.x25519Generate();
    const payload = await encodeHandshakePayloadAsync(identity, keyPair.publicKey).catch((err: unknown) => {
      throw identitySignError(err);
    });
    return { keyPair, payload };
  })();
  staticKeys.set(identity, { crypto, key });
  // A failed one is made again by the next handshake.
  key.catch(() => staticKeys.delete(identity));
  return key;
}

const EMPTY = new Uint8Array(0);

/** A page's handshake crypto: hashing, key agreement and the check of the peer's identity all answer later (WebCrypto). */
export type LaterCrypto = HandshakeCrypto & { ed25519Verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> };

/**
 * The core of `secureConnection`, bound by each entry to its provider
 * (`node:crypto`, libsodium or `@noble/*`) and record layer (`makeLink`).
 * `loadCrypto`, in a page: the handshake's hashing, key agreement and
 * identity checks, when they are not the provider's (WebCrypto's, or noble's
 * loaded where a page has none); the identity then signs with `signAsync`.
 */
export function secureConnectionCore(
  provider: CryptoProvider,
  conn: Connection,
  options: SecureConnectionOptions,
  makeLink: LinkMaker,
  loadCrypto?: () => Promise<LaterCrypto>,
): Promise<SecureConnection> {
  let expectedKey: Uint8Array | undefined;
  const maxFrameSize = options?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const highWaterMark = options?.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const timeoutMs = options?.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const cipher = options?.cipher ?? DEFAULT_NOISE_CIPHER;
  try {
    if (options === null || typeof options !== "object" || options.identity === undefined) {
      throw badArgumentError(TypeError, "secureConnection", "identity", ERROR_TEXTS && ["an Identity (from generateIdentity() or loadOrCreateIdentity())", options?.identity]);
    }
    checkInteger("secureConnection", "maxFrameSize", maxFrameSize, 0, MAX_FRAME_SIZE_LIMIT);
    checkInteger("secureConnection", "highWaterMark", highWaterMark, 1, Number.MAX_SAFE_INTEGER);
    checkInteger("secureConnection", "handshakeTimeoutMs", timeoutMs, 1, MAX_TIMER_MS);
    if (options.prologue !== undefined && !(options.prologue instanceof Uint8Array)) throw badArgumentError(TypeError, "secureConnection", "prologue", ERROR_TEXTS && ["a Uint8Array, the same on both ends", options.prologue, true]);
    if (cipher !== "AESGCM" && cipher !== "ChaChaPoly") throw badArgumentError(RangeError, "secureConnection", "cipher", ERROR_TEXTS && ['"AESGCM" or "ChaChaPoly"', cipher, true]);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw badArgumentError(TypeError, "secureConnection", "signal", ERROR_TEXTS && ["an AbortSignal (controller.signal of an AbortController)", options.signal, true]);
    if (options.onRemoteEnd !== undefined && typeof options.onRemoteEnd !== "function") throw badArgumentError(TypeError, "secureConnection", "onRemoteEnd", ERROR_TEXTS && ["a function", options.onRemoteEnd, true]);
    if (options.countedEnd !== undefined && typeof options.countedEnd !== "boolean") throw badArgumentError(TypeError, "secureConnection", "countedEnd", ERROR_TEXTS && ["true or false", options.countedEnd, true]);
    if (options.expectedPeerId !== undefined) expectedKey = publicKeyFromPeerId(options.expectedPeerId);
    if (options.signal?.aborted === true) throw handshakeAbortedError(conn.remoteAddress, options.signal.reason);
  } catch (err) {
    // A bad option must not leak the connection.
    void conn.close().catch(() => {});
    return Promise.reject(err);
  }
  const peerLabel = conn.remoteAddress;

  return new Promise<SecureConnection>((resolve, reject) => {
    let hs: HandshakeState;
    let staticKey: StaticKey;
    let later: LaterCrypto | undefined;
    let done = false;
    // The responder has sent its message 2 and waits for message 3: a peer
    // that cannot authenticate message 2 (another cipher or prologue) hangs up now.
    let awaitingLast = false;
    let proven: { publicKey: Uint8Array; peerId: string } | undefined;

    const signal = options.signal;
    const onAbort = (): void => fail(handshakeAbortedError(peerLabel, signal?.reason));
    /** `clean`: a fault of this side found before any byte was sent, which the peer is told of as a plain close. */
    const fail = (error: unknown, clean?: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const typed = isXppgError(error) ? error : handshakeFailedError(peerLabel, ERROR_TEXTS ? "an unexpected error occurred" : [], error);
      void conn.close(clean ? undefined : typed).catch(() => {});
      reject(typed);
    };
    const timer = setTimeout(() => fail(handshakeTimeoutError(peerLabel, timeoutMs)), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    const send = (message: Uint8Array): void => {
      conn.send(message).catch((err: unknown) => fail(handshakeFailedError(peerLabel, ERROR_TEXTS ? "a handshake message could not be sent" : [], err)));
    };

    const checkPeer = async (payload: Uint8Array): Promise<void> => {
      const remoteStatic = hs.remoteStaticKey;
      if (remoteStatic === null) throw handshakeFailedError(peerLabel, ERROR_TEXTS ? "its static key is missing" : []);
      proven = await verifyHandshakePayloadAsync((k, d, s) => (later ?? provider).ed25519Verify(k, d, s), payload, remoteStatic, peerLabel);
      if (expectedKey !== undefined && !sameBytes(expectedKey, proven.publicKey)) {
        throw peerIdMismatchError(options.expectedPeerId!, proven.peerId, peerLabel);
      }
    };

    const finish = async (): Promise<void> => {
      const session = await hs.split();
      if (done) return;
      // Made before the handshake is done: a record layer that refuses the session fails it.
      const channel = new SecureChannel(conn, session, (c, sess, controller, o) => makeLink(c, sess, controller, o, later), {
        maxFrameSize,
        highWaterMark,
        remotePeerId: proven!.peerId,
        remotePublicKey: proven!.publicKey,
        onRemoteEnd: options.onRemoteEnd,
        countedEnd: options.countedEnd,
      });
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // The channel reads on from here: the records after the last handshake message are its.
      conn.resume();
      resolve(channel);
    };

    /** One handshake message from the peer, with reading held until it is answered (the crypto may answer later). */
    const step = async (message: Uint8Array): Promise<void> => {
      const payload = await hs.readMessage(message);
      if (done) return;
      if (conn.outbound) {
        // Message 2 (<- e, ee, s, es): the responder's identity.
        await checkPeer(payload);
        send(await hs.writeMessage(staticKey.payload));
        await finish();
        return;
      }
      if (!hs.complete) {
        // Message 1 (-> e): carries nothing in this protocol.
        if (payload.byteLength !== 0) throw handshakeFailedError(peerLabel, ERROR_TEXTS ? "its first handshake message carries an unexpected payload" : []);
        send(await hs.writeMessage(staticKey.payload));
        awaitingLast = true;
        if (!done) conn.resume();
        return;
      }
      // Message 3 (-> s, se): the initiator's identity.
      await checkPeer(payload);
      await finish();
    };

    // Frames wait in the connection until read: reading may start after the cipher's code is loaded.
    const start = async (): Promise<void> => {
      later = await loadCrypto?.();
      const crypto = later ?? provider;
      // Made (and signed) before any byte is sent: an identity that cannot sign fails here, with a clean close.
      const key = await staticKeyFor(crypto, options.identity).catch((err: unknown) => fail(err, true));
      if (done || !key) return;
      staticKey = key;
      // Without a cipher set: a responder takes AESGCM when offered and its AES-GCM is cheap (not a page's noble
      // fallback, without WebCrypto), and an initiator whose AESGCM is the faster (a page's, on WebCrypto) offers it.
      const negotiate = options.cipher === undefined && (conn.outbound ? crypto.offersAesGcm === true : crypto.takesAesGcm !== false);
      hs = new HandshakeState(provider, {
        initiator: conn.outbound,
        staticKeyPair: staticKey.keyPair,
        prologue: options.prologue ?? EMPTY,
        cipher,
        negotiate,
        peerLabel,
        crypto,
        // A page's AESGCM on WebCrypto (which offers it) needs no code loaded; the provider's own ciphers do.
        ...(provider.prepare === undefined ? {} : { prepare: (c: NoiseCipher) => (c === "AESGCM" && later?.offersAesGcm ? undefined : provider.prepare!(c)) }),
      });
      conn.read({
        frame(message) {
          if (done) return;
          conn.pause();
          step(message).catch(fail);
        },
        close(info) {
          const why = !ERROR_TEXTS
            ? [awaitingLast, hs.protocolName]
            : awaitingLast
              ? `the connection closed during the handshake, after our second message (a peer that speaks another cipher suite or prologue hangs up here: this side speaks ${hs.protocolName})`
              : "the connection closed during the handshake";
          fail(handshakeFailedError(peerLabel, why, info.error));
        },
      });
      if (conn.outbound) send(await hs.writeMessage(EMPTY));
    };
    start().catch(fail);
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
