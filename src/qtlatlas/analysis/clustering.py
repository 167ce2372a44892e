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


class _Comma:
    """Placeholder node that writes the comma between two children."""


def ratgtex_newick(matrix: np.ndarray, labels: list[str]) -> str:
    """The tree of the rows of ``matrix`` (r, c; r ≥ 2) as the RatGTEx portal writes it: average linkage on
    Euclidean distances of the values as given, with optimal leaf ordering; Newick with the right child of
    each merge first, branch lengths (merge-height differences) in ``%g``, and no length on the root."""
    from scipy.cluster import hierarchy

    values = np.nan_to_num(np.asarray(matrix, dtype=float))
    tree = hierarchy.to_tree(hierarchy.linkage(values, method="average", optimal_ordering=True))
    return _newick_parts(tree, [str(x) for x in labels]) + ";"


def _newick_parts(root, labels: list[str]) -> str:
    out: list[str] = []
    # (node, height of its parent, phase): phase 0 opens a subtree, 1 closes an internal node
    stack: list[tuple[object, float, int]] = [(root, root.dist, 0)]
    while stack:
        n, parent_height, phase = stack.pop()
        if isinstance(n, _Comma):
            out.append(",")
        elif n.is_leaf():
            out.append(f"{labels[n.id]}:{_branch(parent_height - n.dist)}")
        elif phase == 0:
            out.append("(")
            stack.append((n, parent_height, 1))
            stack.append((n.get_left(), n.dist, 0))
            stack.append((_Comma(), 0.0, 0))
            stack.append((n.get_right(), n.dist, 0))
        else:
            out.append(")" if n is root else f"):{_branch(parent_height - n.dist)}")
    return "".join(out)
