"""Progress lines at a steady cadence, progress.json, and `cyclebench status` (known answers
with a fake clock; a real lock held by this process)."""

import io
import json
import os

from cyclebench import cli
from cyclebench.locks import run_lock
from cyclebench.profile import load_profile, profile_runs, run_snapshot_epochs
from cyclebench.progress import PROGRESS_FILE, Progress, format_duration, read_progress
from cyclebench.status import DONE, RUNNING, STOPPED, WAITING, job_status, status_table

from run_helpers import tiny, write_task


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_format_duration_known_answers():
    assert format_duration(7.2) == "7s"
    assert format_duration(125) == "2m 5s"
    assert format_duration(3 * 3600 + 60) == "3h 1m"
    assert format_duration(93784) == "1d 2h 3m"
    assert format_duration(float("inf")) == "unknown"


def test_lines_come_every_30_s_and_when_forced_with_rate_and_eta(tmp_path):
    clock, out = Clock(), io.StringIO()
    p = Progress("train t/m/seed0", 1000, start=100, stream=out, clock=clock,
                 path=tmp_path / PROGRESS_FILE)
    clock.t += 10
    assert not p.update(150)            # 10 s: too early
    clock.t += 20
    assert p.update(200, {"G": 0.5})    # 30 s: 100 iterations of this process -> 3.33 it/s
    line = out.getvalue().strip()
    assert line == ("train t/m/seed0: iteration 200/1000 (20.0%), 3.33 it/s, ETA 4m 0s, G 0.5")
    clock.t += 1
    assert p.update(203, force=True)    # a checkpoint forces a line
    rec = read_progress(tmp_path / PROGRESS_FILE)
    assert (rec["state"], rec["done"], rec["total"], rec["pid"]) == ("running", 203, 1000,
                                                                      os.getpid())
    p.finish()
    assert read_progress(tmp_path / PROGRESS_FILE)["state"] == "done"
    assert len(out.getvalue().splitlines()) == 3


def test_trainer_writes_progress_and_status_reads_every_state(tmp_path):
    from cyclebench.cyclegan.train import train

    data = write_task(tmp_path / "data")
    cfg = tiny(data, method="cyclegan")
    run = tmp_path / "run"
    train(cfg, run, max_iters=2, quiet=True)
    rec = read_progress(run / PROGRESS_FILE)
    assert (rec["state"], rec["done"], rec["total"]) == ("stopped", 2, 6)
    assert job_status(run, "model.pt")["state"] == STOPPED
    with run_lock(run):
        st = job_status(run, "model.pt")
        assert st["state"] == RUNNING and st["pid"] == str(os.getpid())
    train(cfg, run, quiet=True)
    assert read_progress(run / PROGRESS_FILE)["state"] == "done"
    assert job_status(run, "model.pt")["state"] == DONE
    assert job_status(tmp_path / "nothing", "model.pt")["state"] == WAITING


def test_status_lists_every_run_of_the_profile(tmp_path, capsys, monkeypatch):
    override = tmp_path / "o.yaml"
    override.write_text(f"results_dir: {tmp_path / 'res'}\n")
    files = ["config/smoke.yaml", str(override)]
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    profile = load_profile(*files)
    run = tmp_path / "res" / "smoke" / "runs" / "maps" / "cyclegan" / "seed0"
    run.mkdir(parents=True)
    (run / PROGRESS_FILE).write_text(json.dumps({"state": "running", "done": 3, "total": 12,
                                                 "rate_per_s": 1.5, "updated_unix": 0,
                                                 "pid": 2 ** 22 + 12345}))
    # an evaluate job that is done: both direction CSVs exist
    ev = tmp_path / "res" / "smoke" / "metrics" / "maps" / "cyclegan" / "seed0"
    ev.mkdir(parents=True)
    for d in ("map2photo", "photo2map"):
        (ev / f"{d}.csv").write_text("x\n")
    rows, counts = status_table(profile)
    n_runs = len(profile_runs(profile))  # 22
    n_curves = sum(len(run_snapshot_epochs(profile, t, m)) for t, m, _ in profile_runs(profile))
    assert n_runs == 22 and n_curves > 0
    # the evaluator, every run's training and evaluate job, every snapshot's curve job
    assert counts == {DONE: 1, RUNNING: 0, STOPPED: 1, WAITING: 1 + 2 * n_runs + n_curves - 2}
    names = [r[0] for r in rows]
    assert "evaluate maps/cyclegan/seed0" in names and "curve maps/cyclegan/seed0/epoch001" in names
    assert cli.main(["status", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(f"1 done, 0 running, 1 stopped, {counts[WAITING]} waiting")
    assert out[2].split()[:5] == ["train", "maps/cyclegan/seed0", "stopped", "3/12", "25%"]
    assert not any(ln.startswith("evaluate maps/cyclegan/seed0 ") for ln in out)  # done: hidden


def test_status_of_a_missing_profile_is_one_line(capsys):
    assert cli.main(["status", "nope.yaml"]) == 2
    assert "profile file not found: nope.yaml" in capsys.readouterr().err


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar_not_lines():
    clock, out = Clock(), Tty()
    p = Progress("evaluator", 10, stream=out, clock=clock)
    assert p.bar is not None
    for i in range(1, 11):
        clock.t += 5
        p.update(i, {"loss": 0.5})
    p.finish()
    text = out.getvalue()
    assert "10/10" in text and "evaluator" in text and "iteration 10/10" not in text


def test_status_shows_the_last_log_line_of_a_stopped_job(tmp_path):
    run, log = tmp_path / "run", tmp_path / "train.log"
    run.mkdir()
    (run / PROGRESS_FILE).write_text(json.dumps({"state": "running", "done": 1, "total": 4,
                                                 "pid": 2 ** 22 + 7}))
    log.write_text("train t/m/seed0: iteration 1/4\ncyclebench train: error: loss G is NaN\n\n")
    st = job_status(run, "model.pt", log=log)
    assert st["state"] == STOPPED and st["log_line"] == "cyclebench train: error: loss G is NaN"
