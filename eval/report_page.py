"""A local real-vs-fake perceptual study page: the protocol of the paper's AMT study (CycleGAN,
Zhu et al. 2017, Section 5.1.1 and Table 1; the pix2pix protocol, Isola et al. 2017, Sec. 4.2).

The paper's Table 1 is "% Turkers labelled real": each trial showed a real image and a generated
one side by side for one second; the participant then clicked the one they thought was real
(unlimited time).  The first 10 trials of a session were practice with feedback; 40 scored
trials followed.  FID/KID stand in for this study in the automated tables; this module writes a
single self-contained HTML page (images embedded, no network, no server) that runs the same
protocol in a browser, tallies "% labelled real" per method and offers the answers as CSV.

Each trial pairs a val input's real target with that input's translation by one method (the
run the caller names, e.g. its lowest seed); trials, methods and the left/right side are
shuffled with ``--seed``, so the page is reproducible.  Every input is named (nothing is
globbed): ``--translations METHOD=DIR`` per method, in the order the methods take turns, and
the task's prepared data.

    cyclebench study --translations cyclegan=results/<p>/translations/maps/cyclegan/seed0/map2photo \\
        --translations cogan=... --data-root results/<p>/data/maps \\
        --task maps --direction map2photo \\
        [--n-practice 10 --n-trials 40 --show-ms 1000 --seed 0] --out results/<p>/study/map2photo.html
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import random
from pathlib import Path
from typing import Mapping, Sequence

from cyclebench.tasks import get_task
from cyclebench.utils import atomic_write_text, parse_key_paths
from cyclebench.eval.table_specs import display_name


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def parse_sources(specs: Sequence[str]) -> dict[str, Path]:
    """``["METHOD=DIR", ...]`` -> ``{method: DIR}`` in the given order."""
    return parse_key_paths(specs, "--translations", "METHOD")


def make_trials(sources: Mapping[str, str | Path], data_root: str | Path, task: str,
                direction: str, n_practice: int, n_trials: int,
                seed: int) -> tuple[list[dict], dict[str, str]]:
    """``(trials, images)``: trials reference images by key; images maps key -> data URI.

    ``sources``: method -> folder of its translations (the methods take turns in this order);
    ``data_root``: the task's prepared data.  Trials cycle over the methods so each gets an
    equal share, each with a distinct val input as long as there are enough inputs."""
    t = get_task(task)
    t.resolve_direction(direction)
    sources = {m: Path(d) for m, d in sources.items()}
    if not sources:
        raise ValueError(f"no {direction} translations given (--translations METHOD=DIR)")
    missing = [f"{m}={d}" for m, d in sources.items() if not d.is_dir()]
    if missing:
        raise FileNotFoundError(f"{direction} translations not found: {missing}")
    real_dir = Path(data_root, "val", t.target_domain(direction))
    names = sorted(p.name for p in real_dir.glob("*.png"))
    if not names:
        raise FileNotFoundError(f"no real val images in {real_dir}")
    rng = random.Random(seed)
    pool = {m: [n for n in names if (d / n).is_file()] for m, d in sources.items()}
    empty = [m for m, v in pool.items() if not v]
    if empty:
        raise ValueError(f"methods {empty} have no translation matching a real image in {real_dir}")
    for v in pool.values():
        rng.shuffle(v)
    order = list(sources)
    trials, images = [], {}
    for i in range(n_practice + n_trials):
        method = order[i % len(order)]
        name = pool[method][(i // len(order)) % len(pool[method])]
        real_key, fake_key = f"real/{name}", f"{method}/{name}"
        images.setdefault(real_key, _data_uri(real_dir / name))
        images.setdefault(fake_key, _data_uri(sources[method] / name))
        trials.append({"method": method, "name": name, "real": real_key, "fake": fake_key,
                       "fake_left": rng.random() < 0.5})
    practice, scored = trials[:n_practice], trials[n_practice:]
    rng.shuffle(practice)
    rng.shuffle(scored)
    for i, tr in enumerate(practice + scored):
        tr["practice"] = i < n_practice
    return practice + scored, images


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:sans-serif;max-width:60em;margin:2em auto;text-align:center}
.pair{display:flex;justify-content:center;gap:2em;min-height:280px;margin:1em}
.pair img{width:256px;height:256px;image-rendering:pixelated;cursor:pointer;border:3px solid #ccc}
.pair img.hidden{visibility:hidden}
button{font-size:1.1em;padding:.4em 1.2em;margin:.3em}
#feedback{height:1.5em;font-weight:bold}
table{margin:1em auto;border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 10px}
</style></head><body>
<h2>__TITLE__</h2>
<p id="intro">__INTRO__</p>
<button id="start">Start</button>
<div id="stage" style="display:none">
  <p id="progress"></p>
  <div class="pair"><img id="left" alt="left"><img id="right" alt="right"></div>
  <p>Which image is the real one? Click it (or press &larr; / &rarr;).</p>
  <p id="feedback"></p>
</div>
<div id="done" style="display:none"><h3>Results: % of scored trials where the generated image
was labelled real</h3><table id="results"></table>
<button id="download">Download answers (CSV)</button></div>
<script>
const TRIALS = __TRIALS__;
const IMAGES = __IMAGES__;
const NAMES = __NAMES__;
const SHOW_MS = __SHOW_MS__;
let i = 0, answers = [], waiting = false, timer = null;
const L = document.getElementById("left"), R = document.getElementById("right");
function show() {
  const t = TRIALS[i];
  L.src = IMAGES[t.fake_left ? t.fake : t.real];
  R.src = IMAGES[t.fake_left ? t.real : t.fake];
  L.classList.remove("hidden"); R.classList.remove("hidden");
  document.getElementById("progress").textContent =
    (t.practice ? "Practice " : "Trial ") + (i + 1) + " / " + TRIALS.length;
  waiting = true;
  timer = setTimeout(() => { L.classList.add("hidden"); R.classList.add("hidden"); }, SHOW_MS);
}
function answer(clickedLeft) {
  if (!waiting) return;
  waiting = false; clearTimeout(timer);
  const t = TRIALS[i];
  const fakeChosen = clickedLeft === t.fake_left;
  answers.push({trial: i + 1, practice: t.practice, method: t.method, name: t.name,
                fake_left: t.fake_left, labelled_fake_real: fakeChosen});
  const fb = document.getElementById("feedback");
  fb.textContent = t.practice ? (fakeChosen ? "Wrong: that one was generated." : "Correct.") : "";
  i += 1;
  setTimeout(() => { fb.textContent = ""; i < TRIALS.length ? show() : finish(); },
             t.practice ? 800 : 250);
}
function finish() {
  document.getElementById("stage").style.display = "none";
  document.getElementById("done").style.display = "block";
  const tally = {};
  for (const a of answers) {
    if (a.practice) continue;
    tally[a.method] = tally[a.method] || [0, 0];
    tally[a.method][0] += a.labelled_fake_real ? 1 : 0; tally[a.method][1] += 1;
  }
  let rows = "<tr><th>Method</th><th>% labelled real</th><th>trials</th></tr>";
  for (const m of Object.keys(tally)) {
    rows += "<tr><td>" + (NAMES[m] || m) + "</td><td>" +
      (100 * tally[m][0] / tally[m][1]).toFixed(1) + "%</td><td>" + tally[m][1] + "</td></tr>";
  }
  document.getElementById("results").innerHTML = rows;
}
L.onclick = () => answer(true); R.onclick = () => answer(false);
document.addEventListener("keydown", e => {
  if (e.key === "ArrowLeft") answer(true); if (e.key === "ArrowRight") answer(false); });
document.getElementById("start").onclick = () => {
  document.getElementById("start").style.display = "none";
  document.getElementById("intro").style.display = "none";
  document.getElementById("stage").style.display = "block"; show(); };
document.getElementById("download").onclick = () => {
  const head = "trial,practice,method,name,fake_left,labelled_fake_real\\n";
  const body = answers.map(a => [a.trial, a.practice, a.method, a.name, a.fake_left,
                                 a.labelled_fake_real].join(",")).join("\\n");
  const blob = new Blob([head + body + "\\n"], {type: "text/csv"});
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob); link.download = "__CSVNAME__"; link.click(); };
</script></body></html>
"""


def render_page(trials: list[dict], images: dict[str, str], *, title: str, show_ms: int,
                n_practice: int, csv_name: str) -> str:
    intro = (f"Each trial shows a real image and a generated one for {show_ms / 1000:g} s. "
             "Then click the one you think is real; take as long as you like. "
             f"The first {n_practice} trials are practice with feedback; the rest are scored. "
             "Protocol of the CycleGAN paper's AMT study (Table 1).")
    names = {m: display_name(m) for m in sorted({t["method"] for t in trials})}

    def js(obj) -> str:  # JSON is valid JS; keep '</' from closing the script element
        return json.dumps(obj, sort_keys=True).replace("</", "<\\/")

    return (_PAGE.replace("__TITLE__", html.escape(title)).replace("__INTRO__", html.escape(intro))
            .replace("__SHOW_MS__", str(int(show_ms))).replace("__CSVNAME__", csv_name)
            .replace("__NAMES__", js(names)).replace("__TRIALS__", js(trials))
            .replace("__IMAGES__", js(images)))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench study",
                                description="Write a local real-vs-fake study page (AMT protocol).")
    p.add_argument("--translations", action="extend", nargs="+", required=True,
                   metavar="METHOD=DIR", help="a method's translations (repeatable; the order "
                   "in which the methods take turns)")
    p.add_argument("--data-root", required=True, help="the task's prepared data")
    p.add_argument("--task", required=True)
    p.add_argument("--direction", required=True)
    p.add_argument("--n-practice", type=int, default=10)
    p.add_argument("--n-trials", type=int, default=40)
    p.add_argument("--show-ms", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.n_practice < 0 or args.n_trials < 1 or args.show_ms < 1:
        p.error("--n-practice >= 0, --n-trials >= 1 and --show-ms >= 1 are required")
    try:
        get_task(args.task).resolve_direction(args.direction)
    except KeyError as exc:  # an unknown task: a user error (cyclebench prints it)
        raise ValueError(exc.args[0]) from None
    trials, images = make_trials(parse_sources(args.translations), args.data_root, args.task,
                                 args.direction, args.n_practice, args.n_trials, args.seed)
    out = Path(args.out)
    atomic_write_text(out, render_page(
        trials, images, title=f"Real or fake? {args.direction} ({args.task})",
        show_ms=args.show_ms, n_practice=args.n_practice,
        csv_name=f"answers_{args.direction}.csv"))
    print(f"{out}: {len(trials)} trials ({args.n_practice} practice), "
          f"methods {sorted({t['method'] for t in trials})}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
