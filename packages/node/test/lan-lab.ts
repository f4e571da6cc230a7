// The project's LAN topology (tools/netlab/netlab.sh lan-up): a bridge and
// hosts 198.18.5.1..N in their own network namespaces, plus processes
// started inside them that report JSON lines. Nothing here touches the root
// namespace's interfaces.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const NETLAB = path.join(REPO, "tools/netlab/netlab.sh");

/** Why the lab cannot run here, or undefined when it can. */
export function labSkipReason(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)";
  if (spawnSync("sh", ["-c", "command -v ip"]).status !== 0) return "missing ip (apt-get install -y iproute2)";
  return undefined;
}

export type AgentEvent = { event: string; t: number; [k: string]: unknown };

export interface Agent {
  readonly events: AgentEvent[];
  /** Resolves with the first event (past or future) matching `pred`. */
  next(pred: (e: AgentEvent) => boolean, timeoutMs?: number): Promise<AgentEvent>;
  send(line: string): void;
  readonly exited: Promise<number | null>;
  kill(): void;
}

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
    this.#netlab("lan-up", String(this.hosts));
  }

  /** Ends the processes this lab started, then deletes its namespaces. */
  down(): void {
    for (const c of this.#children) c.kill("SIGKILL");
    this.#children.clear();
    try {
      this.#netlab("lan-down");
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
    const child = spawn("ip", ["netns", "exec", `${this.prefix}l${i}`, process.execPath, ...args], { env });
    this.#children.add(child);
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
        this.#children.delete(child);
        for (const w of waiters) w();
        resolve(code);
      }),
    );
    return {
      events,
      exited,
      send: (line) => void child.stdin.write(`${line}\n`),
      kill: () => void child.kill("SIGKILL"),
      next(pred, timeoutMs = 10_000) {
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

  #netlab(...args: string[]): string {
    return execFileSync(NETLAB, [`--prefix=${this.prefix}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }
}

/** Builds one workspace package (`tsc -b` builds its references too) so agents can import its dist. */
export function buildPackage(name: string): void {
  execFileSync("pnpm", ["--filter", name, "build"], { cwd: REPO, stdio: "pipe" });
}
