// Puts a current categorical column on the reference's codes, so that drift tests compare like with like.
import type { CategoricalColumn } from "../learn/frame.ts";

export interface AlignedCategorical {
  readonly reference: Int32Array;
  readonly current: Int32Array;
  /** Reference dictionary followed by the values only the current data has. */
  readonly dictionary: readonly string[];
  /** Values seen in the current data but never in the reference (out-of-schema categories). */
  readonly newValues: readonly string[];
}

export function alignCategorical(
  reference: CategoricalColumn,
  current: CategoricalColumn,
): AlignedCategorical {
  const index = new Map(reference.dictionary.map((v, i) => [v, i]));
  const dictionary = [...reference.dictionary];
  const newValues: string[] = [];
  const remap = Int32Array.from(current.dictionary, (v) => {
    let code = index.get(v);
    if (code === undefined) {
      code = dictionary.length;
      index.set(v, code);
      dictionary.push(v);
      newValues.push(v);
    }
    return code;
  });
  const codes = new Int32Array(current.codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = current.codes[i] ?? -1;
    codes[i] = c < 0 ? -1 : (remap[c] ?? -1);
  }
  return { reference: reference.codes, current: codes, dictionary, newValues };
}
