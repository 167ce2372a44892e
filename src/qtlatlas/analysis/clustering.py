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


def _branch(x: float) -> str:
    return f"{x:g}"


def ratgtex_newick(matrix: np.ndarray, labels: list[str]) -> str:
    """The tree of the rows of ``matrix`` (r, c; r ≥ 2) as the RatGTEx portal writes it: average linkage on
    Euclidean distances of the values as given, with optimal leaf ordering; Newick with the right child of
    each merge first, branch lengths (merge-height differences) in ``%g``, and no length on the root."""
    from scipy.cluster import hierarchy

    values = np.nan_to_num(np.asarray(matrix, dtype=float))
    merges = hierarchy.linkage(values, method="average", optimal_ordering=True)
    return _newick_parts(merges, [str(x) for x in labels]) + ";"


def _newick_parts(merges: np.ndarray, labels: list[str]) -> str:
    """Newick of a linkage matrix (scipy's ``(n - 1, 4)``: row k merges nodes ``merges[k, 0]`` (left) and
    ``merges[k, 1]`` (right) into node ``n + k`` at height ``merges[k, 2]``; nodes below n are the leaves),
    read directly rather than through ``to_tree``, whose checks cost more than the tree of a few genes."""
    n = len(labels)
    children = merges[:, :2].astype(int).tolist()
    heights = merges[:, 2].tolist()

    def height(node: int) -> float:
        return 0.0 if node < n else heights[node - n]

    root = n + len(children) - 1
    out: list[str] = []
    # (node, height of its parent, phase): phase 0 opens a subtree, 1 closes an internal node; -1 is a comma
    stack: list[tuple[int, float, int]] = [(root, height(root), 0)]
    while stack:
        node, parent_height, phase = stack.pop()
        if node == -1:
            out.append(",")
        elif node < n:
            out.append(f"{labels[node]}:{_branch(parent_height)}")
        elif phase == 0:
            left, right = children[node - n]
            here = height(node)
            out.append("(")
            stack.append((node, parent_height, 1))
            stack.append((left, here, 0))
            stack.append((-1, 0.0, 0))
            stack.append((right, here, 0))
        else:
            out.append(")" if node == root else f"):{_branch(parent_height - height(node))}")
    return "".join(out)
