import subprocess
import sys
from pathlib import Path

import pytest
from atlas_factory import make_atlas

from qtlatlas.cli import build_parser, main

QTLATLAS = Path(sys.executable).parent / "qtlatlas"


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help(command):
    out = subprocess.run([str(QTLATLAS), command, "--help"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"usage: qtlatlas {command}")


def test_top_level_help_lists_commands():
    out = subprocess.run([str(QTLATLAS), "--help"], capture_output=True, text=True, check=True)
    for command in _subcommands():
        assert command in out.stdout


def test_validate_ok(tmp_path, capsys):
    assert main(["validate", str(make_atlas(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "Release r1 (build1): 30 genotyped samples, 40 variants" in out
    assert "OK" in out


def _run_error(argv, capsys) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.err


def test_missing_config(tmp_path, capsys):
    err = _run_error(["validate", str(tmp_path / "absent.yaml")], capsys)
    assert "absent.yaml" in err and "configuration file not found" in err


def test_malformed_yaml(tmp_path, capsys):
    bad = tmp_path / "atlas.yaml"
    bad.write_text("atlas: {name: x\ntissues: [\n")
    assert "atlas.yaml:2: malformed YAML" in _run_error(["validate", str(bad)], capsys)


def test_unknown_tissue_in_inputs(tmp_path, capsys):
    path = make_atlas(tmp_path)
    path.write_text(path.read_text().replace("      T1:\n", "      T9:\n"))
    err = _run_error(["validate", str(path)], capsys)
    assert "releases[0].tissues.T9: unknown tissue 'T9'" in err


def test_file_problem_exits_nonzero(tmp_path, capsys):
    path = make_atlas(tmp_path)
    (tmp_path / "T1.expression.bed").write_text("#chr\tstart\tend\tphenotype_id\tS1\nchr1\t1\t2\tG1\tabc\n")
    err = _run_error(["validate", str(path)], capsys)
    assert "T1.expression.bed:2: non-numeric value 'abc' for sample 'S1'" in err
    assert "1 problem(s) found" in err


def test_installed_command_exit_status(tmp_path):
    out = subprocess.run([str(QTLATLAS), "validate", str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "configuration file not found" in out.stderr
