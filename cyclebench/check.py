"""``cyclebench check FILE...``: validate profile files exactly as the workflow will.

Snakemake reads ``--configfile`` files itself, before the Snakefile runs, and reports an empty
or malformed one without its name ("Config file is not valid JSON or YAML"). This verb reads
the same files in the same order, so such an error names the file (and the line), and every
other profile error is found before a job starts. ``make tables`` runs it first.
"""

from __future__ import annotations

import argparse
from typing import Sequence

from cyclebench.profile import load_profile, profile_summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cyclebench check",
        description="Validate profile files (later files override earlier, as with "
                    "`snakemake --configfile A B`).")
    parser.add_argument("files", nargs="+", metavar="FILE", help="profile and override files")
    args = parser.parse_args(argv)
    profile = load_profile(*args.files, allow_empty=False)  # as strict as Snakemake
    print(f"{' + '.join(args.files)}: {profile_summary(profile)}")
    return 0
