import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../../errors.js";
import { crashPoint } from "../../testing/fault-injection.js";
import type { BaselineJob, BaselineReply } from "./baseline-writer.js";
import { baselineOps } from "./codec.js";
import { SqliteKv } from "./kv.js";

/**
 * The baseline writer's thread (see BaselineWriter): its own connection to the state file,
 * one transaction per job, in the order the jobs came. Checkpoints of the WAL happen here too.
 */
const kv = new SqliteKv((workerData as { file: string }).file);
const port = parentPort!;

port.on("message", (job: BaselineJob) => {
  let reply: BaselineReply = { seq: job.seq };
  try {
    kv.transaction(() => {
      kv.write(baselineOps(job.prefix, job.origin, job.keys));
      crashPoint("store:snapshots-before-commit");
    });
  } catch (error) {
    reply = { seq: job.seq, error: errorMessage(error) };
  }
  port.postMessage(reply);
});
