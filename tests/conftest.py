"""Shared pytest set-up: one torch thread per test process, repository paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


# --- the cluster test (`make test-cluster`): only with --cluster, never in `make test` --------
def pytest_addoption(parser):
    parser.addoption("--cluster", action="store_true",
                     help="run the tests marked 'cluster' against the one-node SLURM cluster of "
                          "tests/cluster/start.sh (make test-cluster); otherwise they are "
                          "deselected")


def pytest_collection_modifyitems(config, items):
    wanted = config.getoption("--cluster")
    keep = [i for i in items if ("cluster" in i.keywords) == wanted]
    dropped = [i for i in items if ("cluster" in i.keywords) != wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
