import { spawnCli, stopCli, type CliExit, type CliProcess } from "./cli.js";

/**
 * N `retrohook run` processes on one config, as an operator runs replicas: each started with
 * its own `RETROHOOK_REPLICA_ID` (`r<slot>-<incarnation>`, new for every start, as the default
 * host-name-and-pid id would be) and the same id in `CHAOS_REPLICA` (the vendor fleet reads it
 * from a request header). The supervisor SIGKILLs and restarts, SIGSTOPs and SIGCONTs, and
 * notes every exit it did not cause.
 */

export const REPLICA_VARIABLE = "CHAOS_REPLICA";

export interface Incarnation {
  id: string;
  slot: number;
  proc: CliProcess;
  startedAt: number;
  /** Set when the supervisor killed or stopped it on purpose. */
  endedBy?: "kill" | "term";
  stoppedSince?: number;
}

export class ReplicaSet {
  private readonly current: Array<Incarnation | undefined>;
  private serial = 0;
  readonly all: Incarnation[] = [];
  readonly unexpectedExits: string[] = [];
  kills = 0;
  stops = 0;

  constructor(
    private readonly config: string,
    readonly size: number,
    private readonly env: Record<string, string> = {},
  ) {
    this.current = Array.from({ length: size }, () => undefined);
  }

  start(slot: number): Incarnation {
    this.serial += 1;
    const id = `r${slot + 1}-${this.serial}`;
    const proc = spawnCli(["run", "-c", this.config], { label: `cluster replica ${id}`, env: { ...this.env, RETROHOOK_REPLICA_ID: id, [REPLICA_VARIABLE]: id } });
    const incarnation: Incarnation = { id, slot, proc, startedAt: Date.now() };
    this.current[slot] = incarnation;
    this.all.push(incarnation);
    void proc.done.then((exit) => this.exited(incarnation, exit));
    return incarnation;
  }

  startAll(): Incarnation[] {
    return this.current.map((_, slot) => this.start(slot));
  }

  /** The current incarnation of each slot (running or not). */
  slots(): Incarnation[] {
    return this.current.filter((i): i is Incarnation => i !== undefined);
  }

  live(): Incarnation[] {
    return this.current.filter((i): i is Incarnation => i !== undefined && !i.proc.exited());
  }

  /** Running and not stopped. */
  working(): Incarnation[] {
    return this.live().filter((i) => i.stoppedSince === undefined);
  }

  /**
   * Waits until every slot's current process has joined the cluster (or exited), up to
   * `timeoutMs`; false when one has not. A fault is only judged against a cluster that has
   * somebody to take over: under load a restarted replica takes seconds to join.
   */
  async allJoined(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    const joined = (i: Incarnation) => i.proc.exited() || i.proc.stderr().includes('"msg":"joined the cluster"');
    while (!this.slots().every(joined)) {
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  byId(id: string): Incarnation | undefined {
    return this.all.find((i) => i.id === id);
  }

  async kill(incarnation: Incarnation): Promise<void> {
    incarnation.endedBy = "kill";
    if (incarnation.stoppedSince !== undefined) this.cont(incarnation);
    incarnation.proc.child.kill("SIGKILL");
    await incarnation.proc.done;
    this.kills += 1;
  }

  stop(incarnation: Incarnation): void {
    incarnation.proc.child.kill("SIGSTOP");
    incarnation.stoppedSince = Date.now();
    this.stops += 1;
  }

  cont(incarnation: Incarnation): void {
    incarnation.proc.child.kill("SIGCONT");
    incarnation.stoppedSince = undefined;
  }

  /** SIGTERM to every live replica; their exits. */
  async stopAll(): Promise<CliExit[]> {
    const live = this.live();
    for (const i of live) {
      if (i.stoppedSince !== undefined) this.cont(i);
      i.endedBy = "term";
    }
    return Promise.all(live.map((i) => stopCli(i.proc, 30_000)));
  }

  /** SIGKILL whatever still runs (clean-up after a failure). */
  async killLeftovers(): Promise<void> {
    for (const i of this.all) {
      if (i.proc.exited()) continue;
      i.endedBy ??= "kill";
      i.proc.child.kill("SIGCONT");
      i.proc.child.kill("SIGKILL");
      await i.proc.done;
    }
  }

  private exited(incarnation: Incarnation, exit: CliExit): void {
    if (incarnation.endedBy) return;
    this.unexpectedExits.push(`replica ${incarnation.id} exited by itself (code ${exit.code}, signal ${exit.signal}): ${exit.stderr.slice(-600)}`);
  }
}
