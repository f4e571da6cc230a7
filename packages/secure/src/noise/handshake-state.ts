import { DEFAULT_NOISE_CIPHER, NOISE_MAX_MESSAGE_SIZE, NOISE_PROTOCOL_NAMES, NOISE_TAG_SIZE, type NoiseCipher } from "../constants.js";
import type { CryptoProvider, HandshakeCrypto, X25519KeyPair } from "../crypto/provider.js";
import { handshakeFailedError, type SecureError } from "../errors.js";
import type { CipherState } from "./cipher-state.js";
import { SymmetricState } from "./symmetric-state.js";
import { concatBytes } from "../concat-bytes.js";
import { ERROR_TEXTS, valuesMessage, type ErrorText } from "@xppg/errors";

const DHLEN = 32;

/**
 * The XX pattern (spec section 7.5): `-> e`, `<- e, ee, s, es`, `-> s, se`.
 * Messages alternate, the initiator writing the even ones: messages 1 and 2
 * carry an ephemeral key (`e`), messages 2 and 3 a static key (`s`). Each key
 * agreement follows the key it needs: in message 2, `ee` after `e`; after
 * `s`, the writer's static key with the reader's ephemeral (`es` in message
 * 2, `se` in message 3), which the reader agrees as its ephemeral with the
 * static key just read.
 */
const MESSAGES = 3;

/** Options for {@link HandshakeState}. */
export interface HandshakeStateOptions {
  /** True for the side that sends the first message. */
  initiator: boolean;
  /** This side's static X25519 key pair. */
  staticKeyPair: X25519KeyPair;
  /** Bytes both sides must agree on, mixed into the handshake hash. @default empty */
  prologue?: Uint8Array;
  /**
   * The cipher function: `"AESGCM"` (`Noise_XX_25519_AESGCM_SHA256`) or
   * `"ChaChaPoly"` (`Noise_XX_25519_ChaChaPoly_SHA256`). Both sides must
   * use the same one: the protocol name is hashed into the handshake.
   * @default "ChaChaPoly"
   */
  cipher?: NoiseCipher;
  /**
   * Negotiate the cipher in the handshake (README, "Cipher negotiation"):
   * an initiator offers AESGCM (the top bit of its ephemeral key, which
   * X25519 ignores) and runs the suite the responder's answer names, whatever
   * `cipher` says; a responder runs AESGCM when it is offered, else `cipher`.
   * Either way a responder that runs AESGCM for an offer says so in its own
   * ephemeral key's top bit.
   * @default false
   */
  negotiate?: boolean;
  /**
   * Loads the code of the cipher once the handshake has chosen it (a page
   * keeps the ciphers out of its first download); awaited before the first
   * step that hashes. @default the provider's `prepare`
   */
  prepare?: (cipher: NoiseCipher) => Promise<void> | undefined;
  /**
   * A fixed ephemeral key pair instead of a fresh random one. For replaying
   * published test vectors only: reusing an ephemeral key breaks security.
   */
  ephemeralKeyPair?: X25519KeyPair;
  /** How the peer is named in error messages. @default "the peer" */
  peerLabel?: string;
  /**
   * What hashes and agrees keys (WebCrypto's in a page); the provider encrypts.
   * @default the provider
   */
  crypto?: HandshakeCrypto;
}

/** The result of a finished handshake. */
export interface HandshakeResult {
  /** Encrypts what this side sends. */
  send: CipherState;
  /** Decrypts what this side receives. */
  receive: CipherState;
  /** The final handshake hash `h` (a unique id of this session, both sides agree on it). */
  handshakeHash: Uint8Array;
  /** The peer's static X25519 public key. */
  remoteStaticKey: Uint8Array;
}

/**
 * Noise `HandshakeState` (spec section 5.3) for
 * `Noise_XX_25519_ChaChaPoly_SHA256` (the default) or
 * `Noise_XX_25519_AESGCM_SHA256`, over the audited primitives of a
 * {@link CryptoProvider}. Call {@link HandshakeState.writeMessage} and
 * {@link HandshakeState.readMessage} in turn, then {@link HandshakeState.split},
 * awaiting each (the hashing and key agreement may be WebCrypto's, which answers later).
 *
 * `readMessage` never throws anything but a `SecureError` with code
 * `XPPG_ERR_HANDSHAKE_FAILED`; after any error the state is spent.
 */
export class HandshakeState {
  readonly initiator: boolean;
  readonly #provider: CryptoProvider;
  readonly #crypto: HandshakeCrypto;
  readonly #prologue: Uint8Array;
  readonly #prepare: ((cipher: NoiseCipher) => Promise<void> | undefined) | undefined;
  /** Set once the cipher is chosen: at once, or for a negotiating side at the message that names it. */
  #ss: SymmetricState | undefined;
  #cipher: NoiseCipher;
  /** The chosen cipher's code loaded and the prologue (and a negotiating initiator's first message) mixed in: every step waits for it. */
  #ready: Promise<void> = Promise.resolve();
  /** A negotiating initiator whose first message is not hashed yet (the answer names the suite), or a negotiating responder before message 1. */
  #undecided: boolean;
  /** The initiator offered AESGCM (its ephemeral key's top bit). */
  #offered = false;
  /** A negotiating initiator's first message, hashed once the suite is known: its ephemeral key as sent, and its payload. */
  #firstMessage: Uint8Array[] = [];
  readonly #s: X25519KeyPair;
  #e: X25519KeyPair | null;
  #re: Uint8Array | null = null;
  #rs: Uint8Array | null = null;
  #step = 0;
  #failed = false;
  /** A step is running (they wait for the crypto): another call now is out of turn. */
  #busy = false;
  readonly #peerLabel: string;

  constructor(provider: CryptoProvider, options: HandshakeStateOptions) {
    this.#provider = provider;
    this.#crypto = options.crypto ?? provider;
    this.initiator = options.initiator;
    this.#s = options.staticKeyPair;
    this.#e = options.ephemeralKeyPair ?? null;
    this.#peerLabel = options.peerLabel ?? "the peer";
    this.#prologue = options.prologue ?? new Uint8Array(0);
    this.#prepare = options.prepare ?? provider.prepare;
    const cipher = options.cipher ?? DEFAULT_NOISE_CIPHER;
    if (cipher !== "AESGCM" && cipher !== "ChaChaPoly") throw new RangeError(ERROR_TEXTS ? `unknown Noise cipher ${String(cipher)}; expected "AESGCM" or "ChaChaPoly"` : valuesMessage("", [String(cipher)]));
    this.#cipher = cipher;
    this.#undecided = options.negotiate === true;
    if (!this.#undecided) this.#choose(cipher);
  }

  /** The Noise cipher this handshake runs (before a negotiating side has chosen: the one it would run unoffered). */
  get cipher(): NoiseCipher {
    return this.#cipher;
  }

  /** The full Noise protocol name this handshake runs, e.g. `Noise_XX_25519_AESGCM_SHA256` (see {@link HandshakeState.cipher}). */
  get protocolName(): string {
    return NOISE_PROTOCOL_NAMES[this.#cipher];
  }

  /** Fixes the suite: `InitializeSymmetric` with its name, the code loaded, the prologue (and what was sent before) mixed in. */
  #choose(cipher: NoiseCipher): void {
    this.#cipher = cipher;
    this.#undecided = false;
    const ss = new SymmetricState(this.#provider, NOISE_PROTOCOL_NAMES[cipher], this.#crypto);
    this.#ss = ss;
    const loading = this.#prepare?.(cipher);
    const sent = this.#firstMessage;
    this.#ready = (async () => {
      if (loading !== undefined) {
        try {
          await loading;
        } catch (err) {
          throw this.#fail(ERROR_TEXTS ? `the code of the ${cipher} cipher could not be loaded` : [cipher], err);
        }
      }
      await ss.mixHash(this.#prologue);
      // A negotiating initiator's message 1: `e`, then the payload (no key yet: EncryptAndHash is MixHash).
      for (const part of sent) await ss.mixHash(part);
    })();
    // A failure shows at the next step; unobserved until then, it must not be reported as unhandled.
    this.#ready.catch(() => {});
  }

  /** True once all three messages have been written or read. */
  get complete(): boolean {
    return this.#step >= MESSAGES;
  }

  /** True when the next message is this side's to write. */
  get isMyTurn(): boolean {
    return !this.complete && this.#step % 2 === (this.initiator ? 0 : 1);
  }

  /** The peer's static public key, once a message carrying it has been read; else `null`. */
  get remoteStaticKey(): Uint8Array | null {
    return this.#rs === null ? null : this.#rs.slice();
  }

  /** The handshake hash so far. */
  get handshakeHash(): Uint8Array {
    return this.#ss?.handshakeHash ?? new Uint8Array(32);
  }

  /**
   * `WriteMessage(payload)`: the next handshake message, carrying `payload`
   * (encrypted from message 2 on). Steps run one at a time: await each.
   */
  async writeMessage(payload: Uint8Array): Promise<Uint8Array> {
    if (this.#failed || this.#busy || !this.isMyTurn) throw new Error(ERROR_TEXTS ? "HandshakeState.writeMessage called out of turn" : valuesMessage("", []));
    this.#busy = true;
    try {
      return await this.#write(payload);
    } catch (err) {
      this.#failed = true;
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  async #write(payload: Uint8Array): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    if (this.#undecided) {
      // A negotiating initiator's message 1 (`-> e`, no key yet) does not depend on the suite: it is sent now and hashed once the answer names the suite.
      this.#e ??= await this.#crypto.x25519Generate();
      const e = flagged(this.#e.publicKey);
      this.#firstMessage = [e, payload.slice()];
      this.#offered = true;
      parts.push(e, payload);
    } else {
      await this.#ready;
      const ss = this.#ss!;
      const step = this.#step;
      if (step < 2) {
        const ephemeral = (this.#e ??= await this.#crypto.x25519Generate());
        // A responder that runs AESGCM because it was offered says so (the initiator takes the suite from this bit).
        const e = !this.initiator && this.#offered && this.#cipher === "AESGCM" ? flagged(ephemeral.publicKey) : ephemeral.publicKey;
        parts.push(e);
        await ss.mixHash(e);
        if (step === 1) await this.#mixDh(ephemeral, this.#re!); // ee
      }
      if (step > 0) {
        parts.push(await ss.encryptAndHash(this.#s.publicKey));
        await this.#mixDh(this.#s, this.#re!); // es (message 2), se (message 3)
      }
      parts.push(await ss.encryptAndHash(payload));
    }
    this.#step++;
    const message = concatBytes(parts);
    // Every message, a negotiating initiator's first too (a failed write leaves the state spent).
    if (message.byteLength > NOISE_MAX_MESSAGE_SIZE) throw new RangeError(ERROR_TEXTS ? "handshake payload too large for one Noise message" : valuesMessage("", []));
    return message;
  }

  /**
   * `ReadMessage(message)`: checks and absorbs the peer's next message and
   * returns its payload.
   *
   * @throws `XPPG_ERR_HANDSHAKE_FAILED` for a message that is too short, too
   *   long, out of turn, fails authentication, or carries a bad key.
   */
  async readMessage(message: Uint8Array): Promise<Uint8Array> {
    if (this.#failed) throw this.#fail(ERROR_TEXTS ? "the handshake already failed" : []);
    if (this.#busy || this.complete || this.isMyTurn) throw this.#fail(ERROR_TEXTS ? "it sent a handshake message out of turn" : []);
    this.#busy = true;
    try {
      return await this.#read(message);
    } finally {
      this.#busy = false;
    }
  }

  async #read(message: Uint8Array): Promise<Uint8Array> {
    if (!(message instanceof Uint8Array)) throw this.#fail(ERROR_TEXTS ? "a handshake message is not bytes" : []);
    if (message.byteLength > NOISE_MAX_MESSAGE_SIZE) {
      throw this.#fail(ERROR_TEXTS ? `a handshake message of ${message.byteLength} bytes exceeds the Noise limit of ${NOISE_MAX_MESSAGE_SIZE}` : [message.byteLength, NOISE_MAX_MESSAGE_SIZE]);
    }
    let at = 0;
    const take = (n: number, what: string): Uint8Array => {
      if (message.byteLength - at < n) throw this.#fail(ERROR_TEXTS ? `handshake message ${this.#step + 1} is too short for its ${what}` : [this.#step + 1, what]);
      const out = message.subarray(at, at + n);
      at += n;
      return out;
    };
    try {
      // The other side's ephemeral key comes first in messages 1 and 2: its top bit is the offer (1) or the answer (2).
      const flag = message.byteLength >= DHLEN && (message[DHLEN - 1]! & 0x80) !== 0;
      if (this.initiator) {
        if (this.#undecided) this.#choose(flag ? "AESGCM" : "ChaChaPoly");
        else if (flag && !this.#offered) throw this.#fail(ERROR_TEXTS ? "its ephemeral key answers an offer of AESGCM that this side did not make" : []);
      } else if (this.#step === 0) {
        this.#offered = flag;
        if (this.#undecided) this.#choose(flag ? "AESGCM" : this.#cipher);
      }
      await this.#ready;
      const ss = this.#ss!;
      const step = this.#step;
      if (step < 2) {
        const re = take(DHLEN, "ephemeral key").slice();
        this.#re = re;
        await ss.mixHash(re);
        // Hashed as sent (its top bit is the offer or the answer); the key agreement gets it masked (RFC 7748
        // section 5), whatever the engine does with that bit.
        re[DHLEN - 1] = re[DHLEN - 1]! & 0x7f;
        if (step === 1) await this.#mixDh(this.#e!, re); // ee
      }
      if (step > 0) {
        const len = ss.hasKey() ? DHLEN + NOISE_TAG_SIZE : DHLEN;
        const rs = await ss.decryptAndHash(take(len, "static key"));
        if (rs === null) throw this.#fail(ERROR_TEXTS ? `the static key in handshake message ${step + 1} failed authentication${this.#mismatchHint()}` : [step + 1]);
        this.#rs = rs.slice();
        await this.#mixDh(this.#e!, rs); // es (message 2), se (message 3)
      }
      const rest = message.subarray(at);
      if (ss.hasKey() && rest.byteLength < NOISE_TAG_SIZE) {
        throw this.#fail(ERROR_TEXTS ? `handshake message ${this.#step + 1} is too short for its payload tag` : [this.#step + 1]);
      }
      const payload = await ss.decryptAndHash(rest);
      if (payload === null) throw this.#fail(ERROR_TEXTS ? `the payload of handshake message ${this.#step + 1} failed authentication${this.#mismatchHint()}` : [this.#step + 1]);
      this.#step++;
      return payload.slice();
    } catch (err) {
      this.#failed = true;
      if ((err as SecureError).code === "XPPG_ERR_HANDSHAKE_FAILED") throw err;
      throw this.#fail(ERROR_TEXTS ? "a key or message could not be processed" : [], err);
    }
  }

  /** `Split()`: the transport cipher states, once the handshake is complete. */
  async split(): Promise<HandshakeResult> {
    if (!this.complete || this.#failed || this.#busy || this.#rs === null) throw new Error(ERROR_TEXTS ? "HandshakeState.split called before the handshake completed" : valuesMessage("", []));
    const ss = this.#ss!;
    const [c1, c2] = await ss.split();
    return {
      send: this.initiator ? c1 : c2,
      receive: this.initiator ? c2 : c1,
      handshakeHash: ss.handshakeHash,
      remoteStaticKey: this.#rs.slice(),
    };
  }

  /** `MixKey(DH(local, remote))`. The keys are there: each step runs only in its turn, after the messages that set them. */
  async #mixDh(local: X25519KeyPair, remote: Uint8Array): Promise<void> {
    let shared: Uint8Array;
    try {
      shared = await this.#crypto.x25519(local.secretKey, remote);
    } catch (err) {
      // Providers throw for a public key that gives an all-zero result.
      throw this.#fail(ERROR_TEXTS ? "the peer sent a low-order public key" : [], err);
    }
    // A low-order public key gives all zeros: refuse it (spec section 12.1 allows this).
    let acc = 0;
    for (let i = 0; i < shared.byteLength; i++) acc |= shared[i]!;
    if (acc === 0) throw this.#fail(ERROR_TEXTS ? "the peer sent a low-order public key" : []);
    await this.#ss!.mixKey(shared);
  }

  /**
   * Why a handshake message fails authentication when nobody tampered with
   * it: the two sides hash different protocol names (cipher suites) or prologues.
   */
  #mismatchHint(): string {
    return ERROR_TEXTS ? ` (the two sides differ in cipher suite or prologue, or the message was altered on the path: this side speaks ${this.protocolName}, and both must set the same \`cipher\` and \`prologue\`)` : "";
  }

  #fail(why: ErrorText, cause?: unknown): SecureError {
    this.#failed = true;
    return handshakeFailedError(this.#peerLabel, why, cause);
  }
}

/**
 * An ephemeral public key with its top bit set: the offer (or the answer)
 * of AESGCM. X25519 ignores that bit (RFC 7748 section 5: implementations
 * mask it), so a side that knows nothing of it computes the same keys; the
 * bytes as sent are hashed into the handshake, so nobody on the path can
 * set or clear it unnoticed.
 */
function flagged(publicKey: Uint8Array): Uint8Array {
  const e = publicKey.slice();
  e[DHLEN - 1] = e[DHLEN - 1]! | 0x80;
  return e;
}
