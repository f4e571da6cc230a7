// Test helpers for the project's namespace labs (tools/netlab/netlab.sh): why a
// lab cannot run here, the netlab script itself, processes started inside a
// namespace that report JSON lines, and the LAN topology (lan-up: a bridge and
// hosts 198.18.5.1..N in their own namespaces). Nothing here touches the root
// namespace's interfaces.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** The repository's root folder. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const NETLAB = path.join(REPO, "tools/netlab/netlab.sh");

/**
 * Why the lab cannot run here, or undefined when it can: it needs Linux, root
 * and the `commands` (from the Debian packages `aptPackages`).
 */
export function labSkipReason(commands: readonly string[] = ["ip"], aptPackages = "iproute2"): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)";
  const missing = commands.filter((cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0);
  if (missing.length > 0) return `missing ${missing.join(", ")} (apt-get install -y ${aptPackages})`;
  return undefined;
}

/** Runs `netlab.sh --prefix=<prefix> <args>` and returns its output. */
export function netlab(prefix: string, ...args: string[]): string {
  return execFileSync(NETLAB, [`--prefix=${prefix}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Builds one workspace package (`tsc -b` builds its references too) so agents can import its dist. */
export function buildPackage(name: string): void {
  // As the root `build` script: the Node version for the code caches (a build without it makes none).
  execFileSync("pnpm", ["--filter", name, "build"], { cwd: REPO, stdio: "pipe", env: { ...process.env, XPPG_NODE_VERSION: process.version } });
}

/** One JSON line an agent printed. */
export type AgentEvent = { event: string; [k: string]: unknown };

/** A process running in a namespace that reports JSON lines on stdout. */
export interface Agent {
  readonly events: AgentEvent[];
  /** Resolves with the first event (past or future) matching `pred`; rejects when the agent exits first or time runs out. */
  next(pred: (e: AgentEvent) => boolean, timeoutMs?: number): Promise<AgentEvent>;
  send(line: string): void;
  readonly exited: Promise<number | null>;
  /** The last few KB the agent wrote to stderr. */
  stderr(): string;
  kill(): void;
}

/** Where {@link startAgent} keeps its process and how long `next` waits by default. */
export interface AgentOptions {
  /** The set the child is in while it runs, so a teardown can kill it. */
  readonly children: Set<ChildProcessWithoutNullStreams>;
  readonly env?: NodeJS.ProcessEnv;
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

/** Starts `node <args>` inside the network namespace `namespace`. */
export function startAgent(namespace: string, args: readonly string[], options: AgentOptions): Agent {
  const { children, env = process.env, timeoutMs: defaultTimeoutMs = 10_000 } = options;
  const child = spawn("ip", ["netns", "exec", namespace, process.execPath, ...args], { env });
  children.add(child);
  const events: AgentEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as AgentEvent);
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      children.delete(child);
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  return {
    events,
    exited,
    stderr: () => stderr,
    send: (line) => void child.stdin.write(`${line}\n`),
    kill: () => void child.kill("SIGKILL"),
    next(pred, timeoutMs = defaultTimeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = events.find(pred);
          if (hit !== undefined || child.exitCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            if (hit !== undefined) resolve(hit);
            else reject(new Error(`agent exited (${child.exitCode}): ${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms; events: ${JSON.stringify(events).slice(-2000)}; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** The LAN topology: `hosts` namespaces on one bridge, host i at 198.18.5.i. */
export class LanLab {
  readonly prefix: string;
  readonly #children = new Set<ChildProcessWithoutNullStreams>();

  constructor(readonly hosts: number) {
    this.prefix = `xppg-${process.pid}-`;
  }

  /** The address of host i (1-based). */
  ip(i: number): string {
    return `198.18.5.${i}`;
  }

  up(): void {
    netlab(this.prefix, "lan-up", String(this.hosts));
  }

  /** Ends the processes this lab started, then deletes its namespaces. */
  down(): void {
    for (const c of this.#children) c.kill("SIGKILL");
    this.#children.clear();
    try {
      netlab(this.prefix, "lan-down");
    } catch {
      // best effort: the process-exit hook tries again
    }
  }

  /** Runs a command in host i's namespace (`ip link set eth0 down`, ...). */
  exec(i: number, ...cmd: string[]): void {
    execFileSync("ip", ["netns", "exec", `${this.prefix}l${i}`, ...cmd], { stdio: "pipe" });
  }

  /** Starts `node <args>` in host i. */
  start(i: number, args: string[], env: NodeJS.ProcessEnv = process.env): Agent {
    return startAgent(`${this.prefix}l${i}`, args, { children: this.#children, env });
  }
}
