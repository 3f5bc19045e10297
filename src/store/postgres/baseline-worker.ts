import { parentPort } from "node:worker_threads";
import { errorMessage } from "../../errors.js";
import { baselineTexts } from "../snapshot-codec.js";
import type { EncodeJob, EncodeReply } from "./baseline-writer.js";
import { textArray } from "./binary-array.js";

/**
 * The baseline encoder's thread (see PgBaselineWriter): the texts of a batch from its
 * response's bytes, returned as binary `text[]` parameters whose memory moves back (no copy).
 */
const port = parentPort!;

port.on("message", (job: EncodeJob) => {
  try {
    const keys = textArray(job.keys, true);
    const texts = textArray(baselineTexts(job.origin, job.keys.length, job.where), true);
    const reply: EncodeReply = { seq: job.seq, keys: keys.buffer as ArrayBuffer, texts: texts.buffer as ArrayBuffer };
    port.postMessage(reply, [reply.keys!, reply.texts!]);
  } catch (error) {
    port.postMessage({ seq: job.seq, error: errorMessage(error) } satisfies EncodeReply);
  }
});
