"""`cyclebench data` and `cyclebench bench data` (cyclebench/datasets/cli.py): flags, --config-json, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from cyclebench.cli import main
from cyclebench.profile import data_config, validate_profile

REPO = Path(__file__).resolve().parent.parent


def test_prepare_synthetic_flags(tmp_path, capsys):
    out = tmp_path / "results" / "p" / "data" / "cityscapes"
    rc = main(["data", "--task", "cityscapes", "--source", "synthetic", "--out", str(out),
               "--n-train", "3", "--n-val", "2", "--size", "16", "--full-size", "32", "64",
               "--seed", "5"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    meta = json.loads((out / "meta.json").read_text())
    assert printed["out"] == str(out) and printed["n_train"] == meta["n_train"] == 3
    assert meta["seed"] == 5 and meta["full_size"] == [32, 64]
    assert len(list((out / "val" / "trainid_full").glob("*.png"))) == 2


def _smoke(**maps):
    profile = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    profile["tasks"]["maps"].update(maps)
    return validate_profile(profile)


def test_config_json_is_the_task_data_config(tmp_path):
    profile = _smoke(n_train=2, n_val=1, size=16)
    profile["data_seed"] = 7
    cfg = data_config(profile, "maps").to_json()
    out = tmp_path / "maps"
    assert main(["data", "--config-json", cfg, "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["n_train"], meta["n_val"], meta["size"]) == (2, 1, 16)
    assert meta["seed"] == 7  # the profile's data_seed
    assert main(["data", "--out", str(out), "--seed", "2", "--config-json", cfg]) == 0
    assert json.loads((out / "meta.json").read_text())["seed"] == 2
    # explicit flags win over the config
    rc = main(["data", "--out", str(out), "--n-train", "4", "--config-json", cfg])
    assert rc == 0 and json.loads((out / "meta.json").read_text())["n_train"] == 4


def test_smoke_profile_cityscapes_section(tmp_path):
    profile = _smoke()
    out = tmp_path / "cs"
    assert main(["data", "--config-json", data_config(profile, "cityscapes").to_json(),
                 "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    section = profile["tasks"]["cityscapes"]
    assert meta["n_train"] == section["n_train"] and meta["size"] == section["size"]
    assert meta["full_size"] == section["full_size"]


def test_errors(tmp_path, capsys, monkeypatch):
    assert main(["data", "--task", "maps", "--source", "synthetic", "--out", str(tmp_path / "o"),
                 "--size", "16"]) == 2
    assert "--n-train, --n-val" in capsys.readouterr().err
    assert main(["data", "--out", str(tmp_path / "o"), "--config-json", "{"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["data", "--out", str(tmp_path / "o"),
                 "--config-json", json.dumps({"task": "maps"})]) == 2
    assert "missing key(s)" in capsys.readouterr().err
    bad = json.loads(data_config(_smoke(), "maps").to_json())
    bad["n_val"] = 0
    assert main(["data", "--out", str(tmp_path / "o"), "--config-json", json.dumps(bad)]) == 2
    assert "'n_val'" in capsys.readouterr().err  # the schema's bound, named by key
    for var in ("CITYSCAPES_DATASET", "CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    rc = main(["data", "--task", "cityscapes", "--source", "cityscapes", "--out",
               str(tmp_path / "o"), "--n-train", "2", "--n-val", "1", "--size", "16"])
    assert rc == 2 and "cityscapes-dataset.com" in capsys.readouterr().err
    rc = main(["data", "--task", "maps", "--source", "cityscapes", "--out",
               str(tmp_path / "o"), "--n-train", "2", "--n-val", "1", "--size", "16"])
    assert rc == 2 and "only applies to task 'cityscapes'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_module_entry_point_and_bench(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cyclebench", "bench", "data", "--task", "maps",
                           "--n", "3", "--size", "16"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n"] == 3 and report["images_per_s"] > 0
