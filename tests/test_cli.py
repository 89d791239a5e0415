"""``cyclebench``: one namespace, one command, one error policy."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from cyclebench import cli

REPO = Path(__file__).resolve().parent.parent
VERBS = ["check", "data", "train", "translate", "evaluator", "score", "evaluate", "sanity", "tables",
         "plots", "study", "claims", "regress", "curves", "timings", "steganography", "status",
         "bench"]


def test_help_lists_every_verb(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for verb in VERBS:
        assert re.search(rf"^  {verb}\s+\S", out, re.M), verb
    assert list(cli.VERBS) == VERBS


def test_every_verb_resolves_and_has_help():
    for verb in VERBS:
        entry = cli.resolve(verb)
        assert callable(entry)
        try:
            entry(["--help"])
        except SystemExit as exc:  # argparse exits 0 after printing the help
            assert exc.code == 0, verb


def test_unknown_verb_and_no_verb_exit_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown verb 'frobnicate'" in capsys.readouterr().err
    assert cli.main([]) == 2


def test_user_error_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cyclebench", "train", "--config",
                           str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cyclebench train: error: ")
    assert "nope.yaml" in lines[0]


def test_console_script_is_declared():
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")
           if ep.dist is not None and ep.dist.name == "cyclebench"}
    assert eps == {"cyclebench": "cyclebench.cli:main"}


def test_one_installed_namespace():
    """Only ``cyclebench`` is importable from outside the checkout (no top-level ``datasets``,
    ``eval``, ``cyclegan`` or ``baselines`` that would shadow other packages)."""
    code = ("import importlib.util as u, json; print(json.dumps({n: u.find_spec(n) is not None "
            "for n in ['cyclebench', 'cyclebench.cyclegan', 'cyclebench.baselines', "
            "'cyclebench.eval', 'cyclebench.datasets', 'datasets', 'eval', 'cyclegan', "
            "'baselines']}))")
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd="/", check=True).stdout
    found = json.loads(out)
    assert all(found[n] for n in ["cyclebench", "cyclebench.cyclegan", "cyclebench.baselines",
                                  "cyclebench.eval", "cyclebench.datasets"])
    # `datasets` may be a different, installed package (Hugging Face), never ours
    for name in ["eval", "cyclegan", "baselines"]:
        assert not found[name], name
    if found["datasets"]:
        import importlib.util

        spec = importlib.util.find_spec("datasets")
        assert not str(spec.origin).startswith(str(REPO))


def test_project_imports_use_the_namespace():
    """No module imports a project package by its folder name (that would load a second copy
    of the registries when run from the checkout)."""
    bad = re.compile(r"^\s*(from|import)\s+(cyclegan|baselines|eval|datasets)\b", re.M)
    offenders = []
    for path in REPO.rglob("*.py"):
        if any(part in (".venv", "build", "results", ".snakemake") for part in path.parts):
            continue
        if bad.search(path.read_text()):
            offenders.append(str(path.relative_to(REPO)))
    for path in (REPO / "workflow").rglob("*.smk"):
        if bad.search(path.read_text()):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_unwritable_output_is_one_line_exit_2(tmp_path):
    """An output folder that cannot be created (here: below a regular file) is an OSError:
    one line naming the path, exit 2, no traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "cyclebench", "data", "--task", "maps",
                           "--source", "synthetic", "--n-train", "2", "--n-val", "1",
                           "--size", "16", "--out", str(blocker / "data")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cyclebench data: error:" in lines[0] and str(blocker) in lines[0]


def test_check_names_the_malformed_or_empty_override_snakemake_would_not(tmp_path, capsys):
    """Snakemake reads --configfile files before the Snakefile and reports an empty or
    malformed one without its name; `cyclebench check` (run first by `make tables`) names it."""
    good = REPO / "config" / "smoke.yaml"
    bad, empty, override = tmp_path / "bad.yaml", tmp_path / "empty.yaml", tmp_path / "ok.yaml"
    bad.write_text("train: [lr\n")
    empty.write_text("")
    override.write_text("seeds: [0, 1]\n")
    assert cli.main(["check", str(good), str(override)]) == 0
    assert "profile 'smoke' is valid (2 tasks, 2 seeds, 44 training runs)" in capsys.readouterr().out
    for path, why in ((bad, "not valid YAML"), (empty, "empty config file")):
        assert cli.main(["check", str(good), str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"cyclebench check: error: {path}: {why}") and "\n" not in err
    override.write_text("train: {lr: 1e-3}\n")
    assert cli.main(["check", str(good), str(override)]) == 2
    err = capsys.readouterr().err
    assert str(override) in err and "1.0e-3" in err


