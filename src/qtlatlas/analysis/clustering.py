"""Hierarchical clustering of a matrix's rows and columns with Newick trees (for expression heatmaps)."""

from __future__ import annotations

import numpy as np


def _newick(node, labels: list[str], parent_height: float) -> str:
    length = max(parent_height - node.dist, 0.0)
    if node.is_leaf():
        name = labels[node.id].replace("(", "_").replace(")", "_").replace(",", "_").replace(":", "_").replace(";", "_")
        return f"{name}:{length:.6g}"
    return f"({_newick(node.left, labels, node.dist)},{_newick(node.right, labels, node.dist)}):{length:.6g}"


def cluster_order(matrix: np.ndarray, labels: list[str]) -> tuple[list[int], str]:
    """Average-linkage clustering of the rows of ``matrix`` (r, c) by Euclidean distance.

    Returns the leaf order (indices into the rows) and the tree in Newick format (branch lengths are
    merge-height differences). One row gives ``[0]`` and ``"label;"``.
    """
    n = matrix.shape[0]
    if n == 0:
        return [], ";"
    if n == 1:
        return [0], f"{labels[0]};"
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import pdist

    values = np.nan_to_num(np.asarray(matrix, dtype=float))
    tree = hierarchy.linkage(pdist(values), method="average", optimal_ordering=n <= 200)
    root = hierarchy.to_tree(tree)
    return [int(i) for i in hierarchy.leaves_list(tree)], _newick(root, labels, root.dist) + ";"
