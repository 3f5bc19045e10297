import type { StateStore, StoredEvent } from "../store/store.js";

/** Events read in one query at most: the attempt's own and those of the next heads due. */
export const READ_AHEAD = 32;

/** How long a read serves the attempts that follow it (ms). */
const FRESH_MS = 1_000;

interface Read {
  events: Promise<Map<string, StoredEvent>>;
  at: number;
}

/**
 * A target's event reads: an attempt whose event was not read ahead reads it together with the
 * events of the next heads due (`upcoming`) not read yet, in one query; the attempts that follow
 * take theirs from that read. Each id read serves one attempt (a later attempt of the same
 * event reads it again, with what routing has fixed for the target since), for a second of
 * the dispatcher's clock at most. A failed read fails every attempt waiting on it (each stays pending, as when its own
 * read failed) and serves nothing more.
 */
export class ReadAhead {
  /** Ids read ahead and not served yet, with their read. */
  private readonly ahead = new Map<string, Read>();

  constructor(
    private readonly store: Pick<StateStore, "getEvents">,
    private readonly target: string,
    /** The dispatcher's clock (ms): a read serves for `FRESH_MS` of it. */
    private readonly now: () => number,
  ) {}

  /** The event of `eventId` for this target; `upcoming` names the events worth reading with it. */
  async event(eventId: string, upcoming: () => string[]): Promise<StoredEvent | undefined> {
    let read = this.ahead.get(eventId);
    const now = this.now();
    if (read && now - read.at <= FRESH_MS) {
      this.ahead.delete(eventId);
    } else {
      for (const [id, old] of this.ahead) if (now - old.at > FRESH_MS) this.ahead.delete(id);
      const ids = [eventId, ...upcoming().filter((id) => id !== eventId && !this.ahead.has(id))];
      const fresh: Read = { events: this.store.getEvents(ids, this.target), at: now };
      read = fresh;
      for (let i = 1; i < ids.length; i++) this.ahead.set(ids[i]!, fresh);
      fresh.events.catch(() => {
        for (const [id, entry] of this.ahead) if (entry === fresh) this.ahead.delete(id);
      });
    }
    return (await read.events).get(eventId);
  }
}
