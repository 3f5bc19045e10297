import { fork, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";

/**
 * Child processes of the benchmark (fake API, receiver, passes, daemon), driven over IPC: `call(op, args)` sends `{id, op, args}` and resolves
 * with the child's `{id, result}`; a child may also emit `{event, data}` at any time.
 */

type Message = { id: number; result?: unknown; error?: string } | { event: string; data: unknown };

export interface Child {
  readonly pid: number;
  call<T = unknown>(op: string, args?: unknown, timeoutMs?: number): Promise<T>;
  on(event: string, listener: (data: unknown) => void): void;
  /** Waits for the exit after `op` (or SIGTERM after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** File for the child's stderr (its log lines). */
  logFile: string;
  env?: Record<string, string>;
  /** Node flags: `--import tsx` for a .ts script, `--cpu-prof`… */
  execArgv: string[];
}

const DEFAULT_CALL_TIMEOUT_MS = 15 * 60_000;

export function spawnChild(script: string, options: SpawnOptions): Promise<Child> {
  const log = openSync(options.logFile, "a");
  const child: ChildProcess = fork(script, [], {
    execArgv: options.execArgv,
    stdio: ["ignore", "inherit", log, "ipc"],
    env: { ...process.env, ...options.env },
  });
  closeSync(log);
  let next = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  const listeners = new Map<string, Array<(data: unknown) => void>>();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      for (const { reject, timer } of pending.values()) {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${signal ?? code}) before answering; see ${options.logFile}`));
      }
      pending.clear();
      resolve();
    });
  });
  child.on("message", (raw: unknown) => {
    const message = raw as Message;
    if ("event" in message) {
      for (const listener of listeners.get(message.event) ?? []) listener(message.data);
      return;
    }
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error !== undefined) waiter.reject(new Error(`${script}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  const handle: Child = {
    pid: child.pid ?? -1,
    call<T>(op: string, args?: unknown, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<T> {
      if (exited) return Promise.reject(new Error(`${script} has exited; see ${options.logFile}`));
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${script}: ${op} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
        child.send({ id, op, args });
      });
    },
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    async stop(timeoutMs = 10_000) {
      if (exited) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
  return new Promise<Child>((resolve, reject) => {
    const onEarlyExit = (): void => reject(new Error(`${script} exited during start; see ${options.logFile}`));
    child.once("exit", onEarlyExit);
    // The child says "ready" once its modules are loaded.
    handle.on("ready", () => {
      child.off("exit", onEarlyExit);
      resolve(handle);
    });
  });
}

export type Handler = (args: never) => unknown;

/** In a child: answers the parent's calls; exits when the parent disconnects. */
export function serveRpc(handlers: Record<string, Handler>): { emit(event: string, data: unknown): void } {
  const send = (message: Message): void => {
    if (process.connected) process.send!(message);
  };
  process.on("message", (raw: unknown) => {
    const { id, op, args } = raw as { id: number; op: string; args: unknown };
    const handler = handlers[op];
    if (!handler) {
      send({ id, error: `unknown op ${op}` });
      return;
    }
    Promise.resolve()
      .then(() => (handler as (a: unknown) => unknown)(args))
      .then(
        (result) => send({ id, result: result ?? null }),
        (error: unknown) => send({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on("disconnect", () => process.exit(0));
  send({ event: "ready", data: null });
  return { emit: (event, data) => send({ event, data }) };
}
