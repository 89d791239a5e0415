"""The proof of the registries: a method defined in ONE new file (``baselines/<name>.py``) plus
one line in a profile's method list is trained, scored and shown as a row in every table and
figure, with no other edit (CycleGAN Tables 1-3 show group "extra" after CycleGAN)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent

METHOD_FILE = '''"""A method in one file (written by tests/test_one_file_method.py; removed afterwards)."""

from cyclebench.cyclegan.model import CycleGAN
from cyclebench.registry import register_method


@register_method("{name}", display_name="{display}", group="extra")
class OneFileMethod(CycleGAN):
    """CycleGAN under another name: enough to prove the plumbing."""
'''


def _tiny_profile(results: Path, name: str) -> dict:
    prof = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    prof["profile"] = "onefile"
    prof["results_dir"] = str(results)
    for task in prof["tasks"].values():  # both tasks: Table 1 is maps, Tables 2-3 cityscapes
        task.update(n_train=4, n_val=4, size=32, methods=[name])
        task["train"] = {"load_size": 32, "crop_size": 32, "n_blocks": 1}
    prof["train"].update(ngf=4, ndf=4, n_epochs=1, n_epochs_decay=0, iters_per_epoch=2,
                         checkpoint_every=2, log_every=1)
    prof["evaluator"].update(width=4, epochs=1, batch_size=4)
    prof["eval"].update(kid_subset_size=4, batch_size=4)
    prof.pop("method_params", None)  # the paper's methods are not run
    return prof


@pytest.mark.slow
def test_one_file_method_is_trained_scored_and_shown_everywhere(tmp_path):
    name = f"zz_onefile_{uuid.uuid4().hex[:8]}"
    display = "One-file GAN"
    method_file = REPO / "baselines" / f"{name}.py"
    method_file.write_text(METHOD_FILE.format(name=name, display=display))
    try:
        profile = tmp_path / "onefile.yaml"
        profile.write_text(yaml.safe_dump(_tiny_profile(tmp_path / "results", name)))
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        res = subprocess.run([sys.executable, "-m", "snakemake", "tables", "--cores", "2",
                              "--configfile", str(profile)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=1800)
        assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]
        root = tmp_path / "results" / "onefile"
        # trained and scored
        assert (root / "runs" / "cityscapes" / name / "seed0" / "model.pt").is_file()
        for task, direction in [("cityscapes", "label2photo"), ("cityscapes", "photo2label"),
                                ("maps", "map2photo"), ("maps", "photo2map")]:
            rows = pd.read_csv(root / "metrics" / task / name / "seed0" / f"{direction}.csv")
            assert set(rows.method) == {name} and len(rows) >= 3
        # a row of Tables 1-3 with values, no paper value, marked as not in the paper
        for table in ("table1", "table2", "table3"):
            t = pd.read_csv(root / "tables" / f"{table}.csv", keep_default_na=True)
            mine = t[t.method == name]
            assert len(mine) and set(mine.method_name) == {display}, table
            assert (mine.n_seeds > 0).any() and mine.paper.isna().all(), table
            assert mine.note.str.contains("not in the 2017 paper").all(), table
            md = (root / "tables" / f"{table}.md").read_text()
            assert f"| {display} [not in the 2017 paper] |" in md, table
            # the paper's methods stay, as NaN rows with their note
            cogan = t[t.method == "cogan"]
            assert len(cogan) and (cogan.n_seeds == 0).all()
        for table in ("table4", "table5"):  # not an ablation
            assert name not in set(pd.read_csv(root / "tables" / f"{table}.csv").method)
        # every figure: table bars, loss curves and translation grids
        figures = root / "figures"
        names = sorted(p.name for p in figures.glob("*.png"))
        for expected in ["table1.png", "table2.png", "table3.png", "losses_cityscapes.png",
                         "losses_maps.png", "grid_label2photo.png", "grid_photo2label.png",
                         "grid_map2photo.png", "grid_photo2map.png"]:
            assert expected in names
        from cyclebench.eval.plots import read_train_logs

        logs = read_train_logs([root / "runs" / "cityscapes" / name / "seed0"], "cityscapes")
        assert set(logs.method) == {name}
        for direction in ("map2photo", "photo2map"):  # the study pages take it too
            page = (root / "study" / f"{direction}.html").read_text()
            assert display in page
    finally:
        method_file.unlink(missing_ok=True)
        cache = REPO / "baselines" / "__pycache__"
        for pyc in cache.glob(f"{name}.*.pyc"):
            pyc.unlink(missing_ok=True)
