"""``mapping.adaptive_permutations`` in atlas.yaml reaches the engine: it is part of the cis tasks' identity
(and only theirs), and the cis task runs adaptive permutations exactly when it is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from atlas_factory import make_atlas

import qtlatlas.engine.cis as cis_engine
from qtlatlas.config import MappingSettings, load_atlas
from qtlatlas.pipeline.execute import resolve_func
from qtlatlas.pipeline.hashing import fingerprint
from qtlatlas.pipeline.plan import plan_release

PERMUTATIONS = 5000


def _atlas(root: Path, adaptive: bool | None):
    """The small atlas of atlas_factory with ``mapping.adaptive_permutations`` set (None: left out); atlases
    written under the same ``root`` share every input file."""
    lines = [f"  permutations: {PERMUTATIONS}"] + ([f"  adaptive_permutations: {str(adaptive).lower()}"]
                                                   if adaptive is not None else [])
    path = make_atlas(root, extra_yaml="mapping:\n" + "\n".join(lines) + "\n")
    return load_atlas(path.rename(root / f"atlas-{adaptive}.yaml"))


def _by_id(tasks):
    return {t.id: t for t in tasks}


def test_default_is_adaptive():
    assert MappingSettings().adaptive_permutations is True


def test_setting_is_part_of_the_cis_tasks_identity_only(tmp_path):
    work = tmp_path / "work"
    plans = {a: _by_id(plan_release(_atlas(tmp_path, a), "r1", work)) for a in (None, False, True)}
    default, off, on = plans[None], plans[False], plans[True]
    assert default.keys() == off.keys() == on.keys()
    cis_ids = [i for i in on if i.endswith("/cis")]
    assert sorted(cis_ids) == ["r1/T1/cross_modality/cis", "r1/T1/expression/cis", "r1/T1/isoforms/cis"]
    for task_id in on:
        same = on[task_id].params == off[task_id].params
        assert same == (task_id not in cis_ids), task_id
        assert default[task_id].params == on[task_id].params
    for task_id in cis_ids:
        assert on[task_id].params["mapping"]["adaptive_permutations"] is True
        assert off[task_id].params["mapping"]["adaptive_permutations"] is False
        assert fingerprint(on[task_id].func, on[task_id].params, []) != fingerprint(off[task_id].func,
                                                                                     off[task_id].params, [])


def _run(task) -> None:
    """Run a planned task in this process as the runner's workers do (outputs written in place)."""
    for path in task.outputs.values():
        Path(path.rstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        if path.endswith("/"):
            Path(path).mkdir(parents=True, exist_ok=True)
    resolve_func(task.func)(outputs=dict(task.outputs), threads=1, **task.params)


@pytest.mark.parametrize("adaptive", [False, True])
def test_cis_task_runs_adaptive_permutations_when_set(tmp_path, monkeypatch, adaptive):
    """The two null phenotypes of the small atlas: full permutations run all 5,000 for each; adaptive ones
    stop after the first block of 2,048 (at least 100 permutation statistics reach the observed one)."""
    atlas = _atlas(tmp_path, adaptive)
    tasks = _by_id(plan_release(atlas, "r1", tmp_path / "work"))
    for task_id in ("r1/prune", "r1/T1/expression/prepare"):
        _run(tasks[task_id])
    counted: list[int] = []
    original = cis_engine.max_r2_permutations

    def counting(prep, i, perms, ws=None):
        counted.append(perms.n_permutations)
        return original(prep, i, perms, ws)

    monkeypatch.setattr(cis_engine, "max_r2_permutations", counting)
    _run(tasks["r1/T1/expression/cis"])
    assert Path(tasks["r1/T1/expression/cis"].outputs["cis"]).exists()
    expected = 2 * cis_engine.AdaptivePermutations().min_permutations if adaptive else 2 * PERMUTATIONS
    assert sum(counted) == expected
