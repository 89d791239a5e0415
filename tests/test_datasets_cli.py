"""`python -m datasets prepare|bench` (datasets/__main__.py): flags, --profile-json, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from datasets.__main__ import main

REPO = Path(__file__).resolve().parent.parent


def test_prepare_synthetic_flags(tmp_path, capsys):
    out = tmp_path / "results" / "p" / "data" / "cityscapes"
    rc = main(["prepare", "--task", "cityscapes", "--source", "synthetic", "--out", str(out),
               "--n-train", "3", "--n-val", "2", "--size", "16", "--full-size", "32", "64",
               "--seed", "5"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    meta = json.loads((out / "meta.json").read_text())
    assert printed["out"] == str(out) and printed["n_train"] == meta["n_train"] == 3
    assert meta["seed"] == 5 and meta["full_size"] == [32, 64]
    assert len(list((out / "val" / "trainid_full").glob("*.png"))) == 2


def test_profile_json_takes_the_task_section(tmp_path):
    profile = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    profile["tasks"]["maps"].update(n_train=2, n_val=1, size=16)
    out = tmp_path / "maps"
    profile["data_seed"] = 7
    rc = main(["prepare", "--task", "maps", "--out", str(out),
               "--profile-json", json.dumps(profile)])
    assert rc == 0
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["n_train"], meta["n_val"], meta["size"]) == (2, 1, 16)
    assert meta["seed"] == 7  # the profile's data_seed
    assert main(["prepare", "--task", "maps", "--out", str(out), "--seed", "2",
                 "--profile-json", json.dumps(profile)]) == 0
    assert json.loads((out / "meta.json").read_text())["seed"] == 2
    # explicit flags win over the profile
    rc = main(["prepare", "--task", "maps", "--out", str(out), "--n-train", "4",
               "--profile-json", json.dumps(profile)])
    assert rc == 0 and json.loads((out / "meta.json").read_text())["n_train"] == 4


def test_smoke_profile_cityscapes_section(tmp_path):
    profile = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    out = tmp_path / "cs"
    assert main(["prepare", "--task", "cityscapes", "--out", str(out),
                 "--profile-json", json.dumps(profile)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    section = profile["tasks"]["cityscapes"]
    assert meta["n_train"] == section["n_train"] and meta["size"] == section["size"]
    assert meta["full_size"] == section["full_size"]


def test_errors(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit, match="--n-train, --n-val"):
        main(["prepare", "--task", "maps", "--source", "synthetic", "--out", str(tmp_path / "o"),
              "--size", "16"])
    with pytest.raises(SystemExit, match="not valid JSON"):
        main(["prepare", "--task", "maps", "--out", str(tmp_path / "o"), "--profile-json", "{"])
    with pytest.raises(SystemExit, match="tasks.maps"):
        main(["prepare", "--task", "maps", "--out", str(tmp_path / "o"),
              "--profile-json", json.dumps({"tasks": {}})])
    for var in ("CITYSCAPES_DATASET", "CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    rc = main(["prepare", "--task", "cityscapes", "--source", "cityscapes", "--out",
               str(tmp_path / "o"), "--n-train", "0", "--n-val", "0", "--size", "16"])
    assert rc == 1 and "cityscapes-dataset.com" in capsys.readouterr().err
    rc = main(["prepare", "--task", "maps", "--source", "cityscapes", "--out",
               str(tmp_path / "o"), "--n-train", "0", "--n-val", "0", "--size", "16"])
    assert rc == 1 and "only applies to task 'cityscapes'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_module_entry_point_and_bench(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "datasets", "bench", "--task", "maps",
                           "--n", "3", "--size", "16"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n"] == 3 and report["images_per_s"] > 0
