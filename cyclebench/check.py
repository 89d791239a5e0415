"""``cyclebench check FILE...``: validate profile files exactly as the workflow will.

Snakemake reads ``--configfile`` files itself, before the Snakefile runs, and reports an empty
or malformed one without its name ("Config file is not valid JSON or YAML"). This verb reads
the same files in the same order, so such an error names the file (and the line), and every
other profile error is found before a job starts. ``make tables`` runs it first.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import yaml

from cyclebench.errors import ConfigError
from cyclebench.profile import load_profile, profile_summary


def _refuse_empty(path: str) -> None:
    """Snakemake refuses a config file that holds no mapping (an empty one included) with a
    message that does not name it; the project's own reader accepts an empty override."""
    try:
        empty = yaml.safe_load(Path(path).read_text()) is None
    except (OSError, yaml.YAMLError):
        return  # load_profile names the file and the problem
    if empty:
        raise ConfigError(f"{path}: empty config file; Snakemake refuses it: write {{}} in it "
                          "or drop it from --configfile")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cyclebench check",
        description="Validate profile files (later files override earlier, as with "
                    "`snakemake --configfile A B`).")
    parser.add_argument("files", nargs="+", metavar="FILE", help="profile and override files")
    args = parser.parse_args(argv)
    for path in args.files:
        _refuse_empty(path)
    profile = load_profile(*args.files)
    print(f"{' + '.join(args.files)}: {profile_summary(profile)}")
    return 0
