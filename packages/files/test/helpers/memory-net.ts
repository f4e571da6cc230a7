// Neighbours joined in memory: each node's FilesHost delivers to the others
// on a later turn (a copy, as a socket would), and a misbehaving neighbour
// is cut off on both sides, as the node does.
import type { FilesHost, FilesHostListener } from "../../src/index.js";

export class MemoryNet {
  readonly hosts = new Map<string, MemoryHost>();
  /** Who was cut off for what, as [reporter, offender, code]. */
  readonly misbehaviours: [string, string, string][] = [];

  host(id: string, maxMessageSize = 1024 * 1024): MemoryHost {
    const h = new MemoryHost(this, id, maxMessageSize);
    this.hosts.set(id, h);
    return h;
  }

  link(a: string, b: string): void {
    const ha = this.hosts.get(a)!;
    const hb = this.hosts.get(b)!;
    ha.links.add(b);
    hb.links.add(a);
    ha.listener?.joined(b);
    hb.listener?.joined(a);
  }

  unlink(a: string, b: string): void {
    const ha = this.hosts.get(a)!;
    const hb = this.hosts.get(b)!;
    if (!ha.links.delete(b)) return;
    hb.links.delete(a);
    ha.listener?.left(b);
    hb.listener?.left(a);
  }
}

export class MemoryHost implements FilesHost {
  readonly links = new Set<string>();
  listener: FilesHostListener | undefined;
  /** Every message this host sent, for tests that count. */
  readonly sentMessages: { to: string; bytes: Uint8Array }[] = [];
  record = false;
  /**
   * Each message arrives in memory of its own (a copy), which stays as it is.
   * Set false and messages arrive in one reused buffer, scribbled over after
   * each call, as a host whose messages do not stay would do.
   */
  stableMessages = true;
  #scratch = new Uint8Array(0);

  constructor(
    readonly net: MemoryNet,
    readonly id: string,
    readonly maxMessageSize: number,
  ) {}

  peers(): readonly string[] {
    return [...this.links];
  }

  send(peer: string, bytes: Uint8Array): Promise<void> {
    if (!this.links.has(peer)) return Promise.reject(new Error(`${peer} is not linked`));
    const copy = Uint8Array.from(bytes);
    if (this.record) this.sentMessages.push({ to: peer, bytes: copy });
    return new Promise((resolve) =>
      setImmediate(() => {
        if (this.links.has(peer)) this.net.hosts.get(peer)!.deliver(this.id, copy);
        resolve();
      }),
    );
  }

  /** A message from `from`: the copy itself, or (not `stableMessages`) a view of the reused buffer, scribbled over once the call returns. */
  deliver(from: string, bytes: Uint8Array): void {
    if (this.stableMessages) return this.listener?.message(from, bytes);
    if (this.#scratch.length < bytes.length) this.#scratch = new Uint8Array(bytes.length);
    const view = this.#scratch.subarray(0, bytes.length);
    view.set(bytes);
    try {
      this.listener?.message(from, view);
    } finally {
      view.fill(0xa5);
    }
  }

  listen(listener: FilesHostListener): () => void {
    this.listener = listener;
    return () => {
      this.listener = undefined;
    };
  }

  misbehaved(peer: string, error: Error): void {
    this.net.misbehaviours.push([this.id, peer, (error as { code?: string }).code ?? "?"]);
    this.net.unlink(this.id, peer);
  }
}
