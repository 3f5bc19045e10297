import { describe, expect, it } from "vitest";
import { refKey } from "../../src/core/types.js";
import { ListedKeys } from "../../src/pipeline/listed-keys.js";
import { seededRandom } from "../helpers/random.js";

describe("the keys a complete listing saw", () => {
  it("answers as a Set of the keys would, for plain, odd and kinded ids, dense and sparse", () => {
    const random = seededRandom(4);
    const keys = new ListedKeys();
    const reference = new Set<string>();
    const ids = (): string => {
      const r = random();
      if (r < 0.4) return String(Math.floor(random() * 5000)); // dense: bitmaps
      if (r < 0.6) return String(Math.floor(random() * 2 ** 40)); // sparse: small sets
      if (r < 0.7) return pick(["0", "00", "01", "007", "-1", "1.0", "1e3", " 1", "", "999999999999999", "9999999999999999", "18446744073709551616", "65535", "65536"]);
      return `inv-${Math.floor(random() * 300)}`;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    for (let i = 0; i < 40_000; i += 1) {
      const key = refKey({ kind: random() < 0.1 ? pick(["wz", "fv", "1"]) : null, id: ids() });
      keys.add(key);
      reference.add(key);
    }
    expect(keys.size).toBe(reference.size);
    for (const key of reference) expect(keys.has(key), key).toBe(true);
    for (let i = 0; i < 20_000; i += 1) {
      const key = refKey({ kind: random() < 0.1 ? "wz" : null, id: ids() });
      expect(keys.has(key), key).toBe(reference.has(key));
    }
    // The same number written two ways is two records.
    const two = new ListedKeys();
    for (const id of ["7", "07", "7", "007"]) two.add(refKey({ kind: null, id }));
    expect(two.size).toBe(3);
    expect(two.has(refKey({ kind: "x", id: "7" }))).toBe(false);
  });
});
