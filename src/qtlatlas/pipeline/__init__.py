"""Generic task-graph runner: content-fingerprinted, resumable, local or dask execution.

It knows nothing about QTLs: a :class:`Task` names a function, its params, inputs and outputs, and
:func:`run_graph` brings the whole graph up to date.
"""

from qtlatlas.pipeline.graph import Task, build_graph
from qtlatlas.pipeline.runner import RunReport, TaskResult, run_graph
from qtlatlas.pipeline.state import load_records

__all__ = ["RunReport", "Task", "TaskResult", "build_graph", "load_records", "run_graph"]
