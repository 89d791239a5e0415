"""The docs are true: every command line that docs/CONTRACTS.md and the README name exists with
the flags they give it, and no code comment points outside the repository."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from cyclebench import cli

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "docs" / "CONTRACTS.md", REPO / "README.md", REPO / "baselines" / "README.md"]
# a command: `cyclebench <verb> [<subcommand>] ...` up to the end of its code span or line
COMMAND = re.compile(r"cyclebench ([a-z]+)((?: [a-z][a-z-]*)?)([^`\n]*(?:\n  [^`\n]*)*)")


def _help(verb: str, sub: str = "") -> str:
    out = io.StringIO()
    argv = [sub, "--help"] if sub else ["--help"]
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.resolve(verb)(argv)
    return out.getvalue()


def _commands():
    for doc in DOCS:
        text = doc.read_text()
        for m in COMMAND.finditer(text):
            verb, sub, rest = m.group(1), m.group(2).strip(), m.group(3)
            if verb not in cli.VERBS:
                continue
            if verb != "bench":  # only bench has subcommands
                rest, sub = f"{sub} {rest}", ""
            yield doc.name, verb, sub, sorted(set(re.findall(r"--[a-z][a-z0-9-]*", rest)))


def test_docs_name_commands():
    assert len(list(_commands())) >= 10


@pytest.mark.parametrize("doc, verb, sub, flags", list(_commands()))
def test_every_documented_flag_exists(doc, verb, sub, flags):
    text = _help(verb, sub)
    missing = [f for f in flags if f not in text and f != "--help"]
    assert not missing, f"{doc}: `cyclebench {verb} {sub}` has no flag(s) {missing}"


def test_every_verb_is_documented():
    text = (REPO / "docs" / "CONTRACTS.md").read_text()
    for verb in cli.VERBS:
        assert f"cyclebench {verb}" in text, verb


def test_no_code_points_outside_the_repository():
    """Docstrings and comments cite the paper and this repository only: no issue numbers and
    no files of the steering repository (which users do not have)."""
    outside = re.compile(r"\.\./shared|\b(SPEC|DESIGN|ECOSYSTEM)\.md\b|\bissue #?\d+|\(#\d+\)")
    offenders = []
    for folder in ["cyclebench", "cyclegan", "baselines", "eval", "workflow", "tests", "config"]:
        for path in (REPO / folder).rglob("*"):
            if path.suffix not in (".py", ".smk", ".yaml", ".rst", ".md") or path == Path(__file__):
                continue
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if outside.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{i}: {line.strip()}")
    assert offenders == []
