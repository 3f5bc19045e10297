import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { errorMessage } from "../../errors.js";
import { crashPoint } from "../../testing/fault-injection.js";
import type { BaselineJob, BaselineReply } from "./baseline-writer.js";
import { baselineOps } from "./codec.js";
import { SqliteKv } from "./kv.js";

/**
 * The baseline writer's thread (see BaselineWriter): its own connection to the state file, in
 * the order the jobs came. The jobs already waiting when one arrives commit with it in one
 * transaction (a commit costs about what a job's rows cost); if that transaction fails, each job
 * is tried again alone, so one job's failure is reported for its own resource only.
 * Checkpoints of the WAL happen here too.
 */
const kv = new SqliteKv((workerData as { file: string }).file);
const port = parentPort as unknown as MessagePort;

/** Most jobs committed together (the writer keeps at most 4 in flight). */
const MAX_BATCH = 8;

function commit(jobs: BaselineJob[]): void {
  kv.transaction(() => {
    for (const job of jobs) kv.apply(baselineOps(job.prefix, job.origin, job.keys));
    crashPoint("store:snapshots-before-commit");
  });
}

port.on("message", (first: BaselineJob) => {
  const jobs = [first];
  for (let next = receiveMessageOnPort(port); next !== undefined; next = jobs.length < MAX_BATCH ? receiveMessageOnPort(port) : undefined) {
    jobs.push(next.message as BaselineJob);
  }
  let replies: BaselineReply[];
  try {
    commit(jobs);
    replies = jobs.map((job) => ({ seq: job.seq }));
  } catch (error) {
    if (jobs.length === 1) replies = [{ seq: first.seq, error: errorMessage(error) }];
    else {
      replies = jobs.map((job) => {
        try {
          commit([job]);
          return { seq: job.seq };
        } catch (alone) {
          return { seq: job.seq, error: errorMessage(alone) };
        }
      });
    }
  }
  for (const reply of replies) port.postMessage(reply);
});
