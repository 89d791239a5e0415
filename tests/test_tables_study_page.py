"""eval/report_page.py: the local real-vs-fake study page (the paper's AMT protocol)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cyclebench.utils import save_png
from cyclebench.eval import report_page as RP


def _fabricate(root: Path, methods=("cyclegan", "cogan"), n=6):
    for i in range(n):
        img = np.full((8, 8, 3), i * 20, np.uint8)
        save_png(img, root / "data" / "maps" / "val" / "photo" / f"{i:02d}.png")
        save_png(img, root / "data" / "maps" / "val" / "map" / f"{i:02d}.png")
        for m in methods:
            save_png(img[::-1].copy(), root / "translations" / "maps" / m / "seed0" /
                     "map2photo" / f"{i:02d}.png")


def _sources(root: Path, methods=("cyclegan", "cogan"), direction="map2photo") -> list[str]:
    return ["--translations", *[f"{m}={root / 'translations' / 'maps' / m / 'seed0' / direction}"
                                for m in methods]]


def _page_data(text: str) -> tuple[list, dict]:
    trials = json.loads(re.search(r"const TRIALS = (.*);", text).group(1))
    images = json.loads(re.search(r"const IMAGES = (.*);", text).group(1))
    return trials, images


def test_trials_protocol_balance_and_determinism(tmp_path):
    _fabricate(tmp_path)
    args = [*_sources(tmp_path), "--data-root", str(tmp_path / "data" / "maps"),
            "--task", "maps", "--direction", "map2photo",
            "--n-practice", "4", "--n-trials", "20", "--seed", "3"]
    assert RP.main(args + ["--out", str(tmp_path / "a.html")]) == 0
    assert RP.main(args + ["--out", str(tmp_path / "b.html")]) == 0
    a = (tmp_path / "a.html").read_text()
    assert a == (tmp_path / "b.html").read_text()  # same seed, same page
    trials, images = _page_data(a)
    assert len(trials) == 24
    assert [t["practice"] for t in trials] == [True] * 4 + [False] * 20
    scored = [t for t in trials if not t["practice"]]
    assert sum(t["method"] == "cyclegan" for t in scored) == 10  # equal share per method
    assert 0 < sum(t["fake_left"] for t in trials) < 24  # the real side is randomised
    for t in trials:  # real = the target photo of the same input as the fake
        assert t["real"] == f"real/{t['name']}" and t["fake"] == f"{t['method']}/{t['name']}"
        raw = base64.b64decode(images[t["fake"]].split(",", 1)[1])
        assert raw == (tmp_path / "translations" / "maps" / t["method"] / "seed0" /
                       "map2photo" / t["name"]).read_bytes()
    assert "1 s" in a and "practice" in a
    # another seed shuffles differently
    assert RP.main(args[:-1] + ["4", "--out", str(tmp_path / "c.html")]) == 0
    assert _page_data((tmp_path / "c.html").read_text())[0] != trials


def test_unknown_method_or_direction_is_an_error(tmp_path, capsys):
    from cyclebench import cli

    _fabricate(tmp_path)
    base = ["--data-root", str(tmp_path / "data" / "maps"), "--task", "maps",
            "--out", str(tmp_path / "x.html")]
    with pytest.raises(FileNotFoundError, match="pix2pix"):  # no such translations
        RP.main(base + _sources(tmp_path, ("pix2pix",)) + ["--direction", "map2photo"])
    with pytest.raises(ValueError, match="label2photo"):
        RP.main(base + _sources(tmp_path) + ["--direction", "label2photo"])
    with pytest.raises(ValueError, match="METHOD=DIR"):
        RP.main(base + ["--translations", "cyclegan", "--direction", "map2photo"])
    assert cli.main(["study", *base, "--task", "mars", *_sources(tmp_path),
                     "--direction", "map2photo"]) == 2
    assert "unknown task 'mars'" in capsys.readouterr().err
    # only the methods given take part, in the order given
    assert RP.main(base + _sources(tmp_path, ("cogan",)) + ["--direction", "map2photo"]) == 0
    trials, _ = _page_data((tmp_path / "x.html").read_text())
    assert {t["method"] for t in trials} == {"cogan"}


NODE_HARNESS = r"""
const els = {};
function el(id) { return els[id] || (els[id] = {id, style: {}, textContent: "", innerHTML: "",
  classList: {add() {}, remove() {}}, src: ""}); }
global.document = {getElementById: el, addEventListener() {}, createElement: () => el("a")};
global.setTimeout = (fn) => fn(); global.clearTimeout = () => {};
SCRIPT
el("start").onclick();
for (let k = 0; k < TRIALS.length; k++) el("left").onclick();   // always click the left image
console.log(el("results").innerHTML);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_script_tallies_percent_labelled_real(tmp_path):
    _fabricate(tmp_path)
    out = tmp_path / "p.html"
    assert RP.main([*_sources(tmp_path), "--data-root", str(tmp_path / "data" / "maps"),
                    "--task", "maps", "--direction", "map2photo",
                    "--n-practice", "2", "--n-trials", "12", "--seed", "1",
                    "--out", str(out)]) == 0
    text = out.read_text()
    script = re.search(r"<script>(.*)</script>", text, re.S).group(1)
    js = tmp_path / "run.js"
    js.write_text(NODE_HARNESS.replace("SCRIPT", script))
    res = subprocess.run(["node", str(js)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    trials, _ = _page_data(text)
    for method, name in [("cyclegan", "CycleGAN (ours)"), ("cogan", "CoGAN")]:
        scored = [t for t in trials if not t["practice"] and t["method"] == method]
        # clicking left labels the fake real exactly when the fake was on the left
        pct = 100 * sum(t["fake_left"] for t in scored) / len(scored)
        assert f"<td>{name}</td><td>{pct:.1f}%</td><td>{len(scored)}</td>" in res.stdout
