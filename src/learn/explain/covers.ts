// Node covers counted from reference rows: how many rows of a data set pass through each tree node.
import { childFor, type TreeArrays } from "./tree-shap.ts";

/**
 * Counts, for every node, the reference rows that reach it (LightGBM's internal_count, scikit-learn's
 * n_node_samples). Used as TreeSHAP covers when a model did not record its training covers.
 *
 * @param columns one Float64Array per model feature (NaN = missing, category codes for categoricals)
 */
export function countCovers(
  trees: TreeArrays,
  columns: readonly Float64Array[],
  nRows: number,
): Float64Array {
  const cover = new Float64Array(trees.feature.length);
  const row = new Float64Array(columns.length);
  for (let r = 0; r < nRows; r++) {
    for (let f = 0; f < columns.length; f++) row[f] = (columns[f] as Float64Array)[r] as number;
    for (const root of trees.roots) {
      let node = root;
      cover[node] = (cover[node] as number) + 1;
      while ((trees.feature[node] as number) >= 0) {
        node = childFor(trees, node, row[trees.feature[node] as number] as number);
        cover[node] = (cover[node] as number) + 1;
      }
    }
  }
  return cover;
}
