"""Table rows are chosen by method group (cyclebench.registry: MethodSpec.group): the paper's
methods always appear, an "extra" method (not in the 2017 paper) appears when it has rows."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from cyclebench import registry
from cyclebench.registry import methods_in_group
from cyclebench.eval import table_build as B
from cyclebench.eval import table_render as RD
from cyclebench.eval import table_specs as S

PAPER = B.load_paper()
EXTRA = "zz_test_extra"


@pytest.fixture
def extra_method():
    """A registered method of group "extra", removed again afterwards."""
    base = registry.get_method("cyclegan")
    registry._REGISTRY[EXTRA] = replace(base, name=EXTRA, display_name="Test Extra GAN",
                                        group="extra", base=None)
    try:
        yield EXTRA
    finally:
        registry._REGISTRY.pop(EXTRA, None)


def row(task, direction, method, metric, value, seed=0):
    return dict(profile="fab", task=task, direction=direction, method=method, seed=seed,
                split="val", metric=metric, value=value, n_images=8, evaluator="small_fcn@1",
                data_source="synthetic-cityscapes", substitutes="none", commit="abc")


def test_group_order_of_every_table():
    summary = B.summarise_seeds(pd.DataFrame(columns=B.ROW_COLUMNS))
    paper = ["cogan", "bigan", "simgan", "feature_gan", "cyclegan", "pix2pix"]
    assert B.table_methods(S.TABLES["table1"], summary) == paper
    assert B.table_methods(S.TABLES["table2"], summary) == paper + ["ground_truth"]
    assert B.table_methods(S.TABLES["table3"], summary) == paper
    ablations = ["cycle_only", "gan_only", "gan_forward", "gan_backward", "cyclegan"]
    assert B.table_methods(S.TABLES["table4"], summary) == ablations
    assert B.table_methods(S.TABLES["table5"], summary) == ablations


def test_extra_method_with_rows_appears_in_tables_1_to_3_without_paper_value(extra_method):
    rows = [row("cityscapes", "label2photo", extra_method, "per_pixel_acc", 0.6),
            row("cityscapes", "photo2label", extra_method, "class_iou", 0.2),
            row("maps", "map2photo", extra_method, "fid", 40.0),
            row("cityscapes", "label2photo", "cyclegan", "per_pixel_acc", 0.5)]
    out = B.build_tables(pd.DataFrame(rows), PAPER, "fab")
    for name in ("table1", "table2", "table3"):
        t = out[name]
        methods = list(dict.fromkeys(t.method))
        # after CycleGAN, before pix2pix (groups baseline, proposed, extra, paired)
        assert methods.index(extra_method) == methods.index("cyclegan") + 1, name
        assert methods.index("pix2pix") == methods.index(extra_method) + 1, name
        mine = t[t.method == extra_method]
        assert mine.paper.isna().all() and mine["diff"].isna().all()
        assert mine.note.str.contains("not in the 2017 paper").all()
        assert set(mine.method_name) == {"Test Extra GAN"}
        cap = RD.caption(S.TABLES[name], t)
        assert "Not in the 2017 paper (no paper value): Test Extra GAN." in cap
        assert "Test Extra GAN [not in the 2017 paper]" in list(RD.wide(S.TABLES[name], t).Method)
    t2 = out["table2"].set_index(["method", "metric"])
    assert t2.at[(extra_method, "per_pixel_acc"), "reproduced_mean"] == pytest.approx(0.6)
    assert math.isnan(t2.at[(extra_method, "class_iou"), "reproduced_mean"])
    for name in ("table4", "table5"):  # not an ablation
        assert extra_method not in set(out[name].method)
    # no paper value: not ranked against the paper
    assert not out["agreement"].methods.str.contains(extra_method).any()


def test_extra_method_without_rows_does_not_appear(extra_method):
    out = B.build_tables(pd.DataFrame([row("maps", "map2photo", extra_method, "fid", 40.0)]),
                         PAPER, "fab")
    assert extra_method in set(out["table1"].method)
    for name in ("table2", "table3"):  # rows for maps only
        assert extra_method not in set(out[name].method)


def test_paper_method_without_rows_stays_as_nan_with_note():
    out = B.build_tables(pd.DataFrame([row("cityscapes", "label2photo", "cyclegan",
                                           "per_pixel_acc", 0.5)]), PAPER, "fab")
    t2 = out["table2"]
    cogan = t2[(t2.method == "cogan") & (t2.metric == "per_pixel_acc")].iloc[0]
    assert math.isnan(cogan.reproduced_mean) and cogan.n_seeds == 0
    assert cogan.note == "missing: no metric rows" and cogan.paper == 0.40
    assert "CoGAN (per_pixel_acc" in RD.caption(S.TABLES["table2"], t2)


def test_display_names_and_figure_order_come_from_the_registry():
    assert S.display_name("feature_gan") == "Feature loss + GAN"
    assert S.display_name("ground_truth") == "Ground truth"
    assert S.display_name("unknown_thing") == "unknown_thing"
    assert S.method_order(["gan_only", "pix2pix", "zzz", "ground_truth", "cogan", "cyclegan"]) \
        == ["cogan", "cyclegan", "pix2pix", "gan_only", "ground_truth", "zzz"]
    assert methods_in_group("baseline") == ["cogan", "bigan", "simgan", "feature_gan"]


ONE_FILE_METHOD = '''
from cyclebench.cyclegan.model import CycleGAN
from cyclebench.registry import register_method


@register_method("{name}", display_name="One-file GAN", group="extra")
class OneFile(CycleGAN):
    """A method defined in one file."""
'''


def test_one_new_file_in_the_baselines_package_is_registered(tmp_path, monkeypatch):
    """baselines/__init__.py imports every other module of its package (pkgutil, sorted):
    a new file is registered with no other edit (here the package path is extended to a
    temporary folder instead of writing into the working tree)."""
    import sys

    import cyclebench.baselines as pkg

    name = "zz_one_file_test_method"
    (tmp_path / f"{name}.py").write_text(ONE_FILE_METHOD.format(name=name))
    monkeypatch.setattr(pkg, "__path__", list(pkg.__path__) + [str(tmp_path)])
    try:
        found = pkg._import_other_modules()
        assert name in found and found == sorted(found)
        assert "cogan" not in found  # the paper's five are imported first, explicitly
        spec = registry.get_method(name)
        assert (spec.display_name, spec.group) == ("One-file GAN", "extra")
        assert methods_in_group("extra")[-1] == name
        assert methods_in_group("baseline") == ["cogan", "bigan", "simgan", "feature_gan"]
    finally:
        registry._REGISTRY.pop(name, None)
        sys.modules.pop(f"cyclebench.baselines.{name}", None)
