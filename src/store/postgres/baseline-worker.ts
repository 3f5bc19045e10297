import { parentPort } from "node:worker_threads";
import { errorMessage } from "../../errors.js";
import { baselineTexts } from "../snapshot-codec.js";
import type { EncodeJob, EncodeReply } from "./baseline-writer.js";
import { baselineCopy } from "./binary-array.js";

/**
 * The baseline encoder's thread (see PgBaselineWriter): the texts of a batch from its
 * response's bytes, returned as a binary COPY body whose memory moves back (no copy).
 */
const port = parentPort!;

port.on("message", (job: EncodeJob) => {
  try {
    const body = baselineCopy(job.source, job.resource, job.keys, baselineTexts(job.origin, job.keys.length, job.where), true);
    const reply: EncodeReply = { seq: job.seq, copy: body.buffer as ArrayBuffer, length: body.length };
    port.postMessage(reply, [reply.copy!]);
  } catch (error) {
    port.postMessage({ seq: job.seq, error: errorMessage(error) } satisfies EncodeReply);
  }
});
