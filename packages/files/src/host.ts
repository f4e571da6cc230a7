/**
 * What the swarm needs from the node that carries it, and nothing more: send
 * one message of the files kind to a neighbour, hear them, know the
 * neighbours that speak it, and drop a neighbour that misbehaves. `@xppg/node`
 * implements it over its sessions (capability `files/2`); tests implement it
 * over anything that carries bytes.
 */

/** What the host calls on the swarm. */
export interface FilesHostListener {
  /** A files message from a neighbour (untrusted bytes; the view may be reused after the call returns, unless the host has `stableMessages`). */
  message(peerId: string, bytes: Uint8Array): void;
  /** A neighbour that speaks the files protocol joined. */
  joined(peerId: string): void;
  /** A neighbour left (or was dropped). */
  left(peerId: string): void;
}

/** The node under a `FileSwarm`. */
export interface FilesHost {
  /** The largest files message a neighbour accepts, in bytes (its frame limit less the envelope). */
  readonly maxMessageSize: number;
  /**
   * True when the bytes handed to {@link FilesHostListener.message} are never
   * reused or changed by the host after the call (each message lies in memory
   * of its own, as a frame a transport does not reuse). The swarm then hashes
   * and writes a chunk that came whole in one message from where it lies,
   * keeping a view of it until it is written, instead of copying it first.
   * @default false (every chunk is copied out of its message)
   */
  readonly stableMessages?: boolean;
  /** The neighbours that speak the files protocol now. */
  peers(): readonly string[];
  /**
   * Sends one files message to a neighbour. Resolves when the transport took
   * it (awaiting it is the back-pressure); rejects when the neighbour is gone.
   * The host copies `bytes` (or is done with them) by the time it resolves:
   * the swarm reuses the buffer for its next message.
   */
  send(peerId: string, bytes: Uint8Array): Promise<void>;
  /** Starts delivering to `listener`; returns a function that stops it. */
  listen(listener: FilesHostListener): () => void;
  /** A neighbour broke the protocol or lied (a bad chunk): the host drops it with this reason. */
  misbehaved(peerId: string, error: Error): void;
}
