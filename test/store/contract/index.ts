import { outboxContract } from "./outbox.js";
import { pageCommitContract } from "./page-commit.js";
import { passJournalContract } from "./pass-journal.js";
import { retentionContract } from "./retention.js";
import { smallStateContract } from "./small-state.js";
import { snapshotsContract } from "./snapshots.js";
import type { ContractBackend } from "./backend.js";

export type { ContractBackend } from "./backend.js";

/** The StateStore contract: every backend's test file runs it unchanged with its own `freshUrl`. */
export function stateStoreContract(backend: ContractBackend): void {
  smallStateContract(backend);
  snapshotsContract(backend);
  outboxContract(backend);
  pageCommitContract(backend);
  passJournalContract(backend);
  retentionContract(backend);
}
