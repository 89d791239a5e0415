"""Profile schema, semantic checks, the typed step configs and the method registry."""

from __future__ import annotations

import copy

import pytest
import yaml

import dataclasses

from cyclebench import schema
from cyclebench.config import (ConfigError, DataConfig, EvalConfig, EvaluatorConfig, StepConfig,
                               TrainConfig)
from cyclebench.profile import (RUN_KEYS, data_config, default_train_config, eval_config,
                                evaluator_config, load_profile, train_config, validate_profile)
from cyclebench.schema import load_schema
from cyclebench.registry import get_method, register_method, registered_methods

PROFILES = ["smoke", "default", "paper"]


@pytest.fixture
def smoke(repo_root):
    return yaml.safe_load((repo_root / "config" / "smoke.yaml").read_text())


@pytest.mark.parametrize("name", PROFILES)
def test_profiles_validate(repo_root, name):
    cfg = load_profile(repo_root / "config" / f"{name}.yaml")
    assert cfg["profile"] == name
    # defaults are filled in
    assert "eval" in cfg and "kid_subset_size" in cfg["eval"]
    assert "resources" in cfg and cfg["resources"]["train_threads"] >= 1


@pytest.mark.parametrize("name", PROFILES)
def test_every_configured_method_is_registered(repo_root, name):
    cfg = load_profile(repo_root / "config" / f"{name}.yaml")
    known = set(registered_methods())
    for task in cfg["tasks"].values():
        assert set(task["methods"]) <= known


def test_the_cut_extras_override_adds_only_cut_and_fastcut_to_the_default(repo_root):
    base = load_profile(repo_root / "config" / "default.yaml")
    cfg = load_profile(repo_root / "config" / "default.yaml",
                       repo_root / "config" / "extras" / "cut.yaml")
    for name, task in cfg["tasks"].items():
        added = [m for m in task["methods"] if m not in base["tasks"][name]["methods"]]
        assert added == ["cut", "fastcut"]
        assert {k: v for k, v in task.items() if k != "methods"} == \
            {k: v for k, v in base["tasks"][name].items() if k != "methods"}
    assert {k: v for k, v in cfg.items() if k != "tasks"} == \
        {k: v for k, v in base.items() if k != "tasks"}


def test_the_long_extras_override_changes_only_the_budget_alike_for_every_method(repo_root):
    """config/extras/long.yaml: 16x the default's epochs for every run, the schedule's shape
    (half at the initial rate, half decaying) kept, one seed, its own results folder."""
    base = load_profile(repo_root / "config" / "default.yaml")
    cfg = load_profile(repo_root / "config" / "default.yaml",
                       repo_root / "config" / "extras" / "long.yaml")
    assert (cfg["profile"], cfg["seeds"], cfg["tasks"]) == ("long", [0], base["tasks"])
    for task, spec in cfg["tasks"].items():
        for method in spec["methods"]:
            short = train_config(base, task, method, 0, data_root="d")
            long = train_config(cfg, task, method, 0, data_root="d")
            assert (long.n_epochs, long.n_epochs_decay) == \
                (16 * short.n_epochs, 16 * short.n_epochs_decay), (task, method)
            changed = {k for k, v in long.to_dict().items() if short.to_dict()[k] != v}
            assert changed <= {"n_epochs", "n_epochs_decay", "snapshots", "profile"}, \
                (task, method, changed)


def test_paper_profile_uses_paper_settings(repo_root):
    cfg = load_profile(repo_root / "config" / "paper.yaml")
    city, maps = cfg["tasks"]["cityscapes"], cfg["tasks"]["maps"]
    assert city["train"] == {"load_size": 143, "crop_size": 128, "n_blocks": 6,
                             "iters_per_epoch": 2975}
    assert maps["train"] == {"load_size": 286, "crop_size": 256, "n_blocks": 9,
                             "iters_per_epoch": 1096}
    run = train_config(cfg, "cityscapes", "cyclegan", 0, data_root="d")
    assert (run.ngf, run.ndf, run.batch_size, run.lr, run.beta1) == (64, 64, 1, 2e-4, 0.5)
    assert (run.n_epochs, run.n_epochs_decay, run.lambda_cycle, run.pool_size) == (100, 100, 10, 50)
    assert run.lambda_identity == 0


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c.update(bogus=1), "bogus"),
        (lambda c: c["tasks"]["cityscapes"].update(source="kitti"), "tasks.cityscapes.source"),
        (lambda c: c["train"].update(lr="fast"), "train.lr"),
        (lambda c: c["train"].update(ngf=0), "train.ngf"),
        (lambda c: c["train"].update(learning_rate=1e-3), "learning_rate"),
        (lambda c: c["tasks"]["maps"]["train"].update(crop_size=64), "crop_size"),
        (lambda c: c["tasks"]["maps"].update(methods=["cyclegan", "nope"]), "nope"),
        (lambda c: c.update(seeds=[]), "seeds"),
        (lambda c: c["eval"].update(fid_extractor="vgg"), "eval.fid_extractor"),
        (lambda c: c["method_params"].update(simgan={"no_such_param": 1}), "no_such_param"),
        (lambda c: c["method_params"].update(unknown_method={}), "unknown_method"),
        (lambda c: c["tasks"]["maps"].update(source="cityscapes"), "tasks.maps.source"),
        (lambda c: c["tasks"]["maps"].update(source="pix2pix"), "tasks.maps.url"),
    ],
)
def test_bad_profiles_fail_naming_the_key(smoke, mutate, key):
    cfg = copy.deepcopy(smoke)
    mutate(cfg)
    with pytest.raises(ConfigError) as exc:
        validate_profile(cfg, source="test.yaml")
    assert key in str(exc.value)
    assert "test.yaml" in str(exc.value)


def test_crop_load_check_uses_the_schema_defaults(smoke):
    cfg = copy.deepcopy(smoke)
    cfg["tasks"]["maps"]["train"] = {"load_size": 200}  # crop defaults to 128: valid
    validate_profile(cfg)
    cfg = copy.deepcopy(smoke)
    cfg["tasks"]["maps"]["train"] = {"crop_size": 200}  # load defaults to 143: invalid
    with pytest.raises(ConfigError, match="crop_size"):
        validate_profile(cfg)


def test_schema_train_section_matches_trainconfig():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(load_schema()["$defs"]["train_settings"]["properties"]) == fields - set(RUN_KEYS)
    # every training setting but the device (default: the profile's) has its default there
    assert set(schema.defaults("#/$defs/train_settings")) == fields - set(RUN_KEYS) - {"device"}


def test_step_configs_carry_no_defaults():
    """The schema is the single home of defaults: no step-config field has one."""
    for cls in (DataConfig, TrainConfig, EvaluatorConfig, EvalConfig):
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING, (cls.__name__, f.name)
            assert f.default_factory is dataclasses.MISSING, (cls.__name__, f.name)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
        assert issubclass(cls, StepConfig)


def test_step_config_sections_match_the_schema():
    sections = {EvaluatorConfig: "#/properties/evaluator", EvalConfig: "#/properties/eval"}
    for cls, pointer in sections.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(schema.section(pointer)["properties"]) <= fields
    assert set(schema.section("#/$defs/task")["properties"]) - {"train", "methods"} \
        <= {f.name for f in dataclasses.fields(DataConfig)}


def test_task_train_section_does_not_override_the_profile_train_section(smoke):
    """Defaults apply per run beneath both sections: a task's train section that leaves ngf
    unset keeps the profile's ngf (validation does not fill the task section)."""
    cfg = validate_profile(copy.deepcopy(smoke))
    assert "ngf" not in cfg["tasks"]["maps"]["train"]
    cfg["train"]["ngf"] = 12
    run = train_config(cfg, "maps", "cyclegan", 0, data_root="d")
    assert run.ngf == 12 and run.ndf == smoke["train"]["ndf"]
    assert run.n_layers_d == 3  # the schema default


def test_step_configs_check_bounds_from_the_schema(smoke):
    cfg = validate_profile(copy.deepcopy(smoke))
    run = train_config(cfg, "maps", "cyclegan", 0, data_root="d").to_dict()
    with pytest.raises(ConfigError, match="key 'lambda_cycle'.*minimum"):
        TrainConfig.from_dict({**run, "lambda_cycle": -1.0})
    with pytest.raises(ConfigError, match="key 'device'"):
        TrainConfig.from_dict({**run, "device": "gpu"})
    ev = eval_config(cfg).to_dict()
    with pytest.raises(ConfigError, match="key 'kid_subset_size'"):
        EvalConfig.from_dict({**ev, "kid_subset_size": 1})
    with pytest.raises(ConfigError, match="missing key"):
        EvalConfig.from_dict({k: v for k, v in ev.items() if k != "batch_size"})
    data = data_config(cfg, "cityscapes")
    assert data.full_size == tuple(smoke["tasks"]["cityscapes"]["full_size"])
    assert DataConfig.from_json(data.to_json()) == data
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.size = 3


def test_evaluator_config_resolves_sizes(smoke):
    cfg = validate_profile(copy.deepcopy(smoke))
    cfg["evaluator"].update(input_size=0, load_size=0)
    ev = evaluator_config(cfg)
    size = cfg["tasks"]["cityscapes"]["size"]
    assert ev.input_size == size and ev.load_size == round(1.125 * size)
    cfg["evaluator"].update(input_size=64, load_size=32)
    with pytest.raises(ConfigError, match="load_size"):
        evaluator_config(cfg)
    cfg["evaluator"].update(load_size=0, imagenet_weights="auto")
    with pytest.raises(ConfigError, match="imagenet_weights"):
        evaluator_config(cfg)
    with pytest.raises(ConfigError, match="no segmentation labels"):
        evaluator_config(validate_profile(copy.deepcopy(smoke)), "maps")


def test_profile_is_read_by_one_module_only(repo_root):
    """Only cyclebench/profile.py (and the Snakefile's rules, which call it) reads a raw
    profile: no other module takes a --profile-json or indexes profile sections."""
    offenders = []
    for path in repo_root.rglob("*.py"):
        if any(p in (".venv", "tests", "build") for p in path.parts):
            continue
        text = path.read_text()
        if "--profile-json" in text or 'profile["tasks"]' in text or "profile.get(\"eval" in text:
            offenders.append(str(path.relative_to(repo_root)))
    assert offenders == ["cyclebench/profile.py"]


def test_schema_fields_are_documented():
    schema = load_schema()

    def walk(node, path):
        if isinstance(node, dict):
            props = node.get("properties", {})
            for name, sub in props.items():
                if "$ref" not in sub:
                    assert "description" in sub, f"{path}.{name} has no description"
                walk(sub, f"{path}.{name}")
            for name, sub in node.get("$defs", {}).items():
                walk(sub, f"$defs.{name}")

    walk(schema, "")


def test_train_config_precedence(smoke):
    cfg = validate_profile(copy.deepcopy(smoke))
    cfg["train"]["lr"] = 1e-3
    cfg["tasks"]["maps"]["train"]["lr"] = 5e-4
    cfg["method_params"]["simgan"] = {"lambda_self_reg": 0.25}
    city = train_config(cfg, "cityscapes", "cyclegan", 3, data_root="r/city", threads=2)
    maps = train_config(cfg, "maps", "simgan", 0, data_root="r/maps")
    assert city.lr == 1e-3 and maps.lr == 5e-4
    assert city.seed == 3 and city.threads == 2 and city.task == "cityscapes"
    assert city.data_root == "r/city"  # the rule's path, never rebuilt here
    assert maps.method_params["lambda_self_reg"] == 0.25
    assert city.method_params == get_method("cyclegan").resolved_params()


def test_ablations_are_variants_of_cyclegan():
    for name in ["cycle_only", "gan_only", "gan_forward", "gan_backward"]:
        spec = get_method(name)
        assert spec.base == "cyclegan"
        assert spec.cls is get_method("cyclegan").cls
        assert spec.params  # differs from cyclebench.cyclegan only by parameters


def test_registry_rejects_duplicates():
    registered_methods()
    with pytest.raises(ValueError, match="already registered"):
        @register_method("cyclegan", display_name="Dup")
        class Dup:  # noqa: F811
            pass


def test_unknown_method_error_lists_known():
    with pytest.raises(KeyError, match="registered methods"):
        get_method("does_not_exist")


def test_trainconfig_roundtrip_and_errors(tmp_path):
    cfg = default_train_config(task="maps", seed=4, lr=1e-3, method_params={"a": 1})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**cfg.to_dict(), "provenance": {"commit": "x"}}))
    assert TrainConfig.load(path) == cfg
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    full = cfg.to_dict()
    with pytest.raises(ConfigError, match="unknown key.*'colour'"):
        TrainConfig.from_dict({**full, "colour": 1})
    with pytest.raises(ConfigError, match="'n_epochs' must be of type int"):
        TrainConfig.from_dict({**full, "n_epochs": 1.5})
    with pytest.raises(ConfigError, match="'flip' must be of type bool"):
        TrainConfig.from_dict({**full, "flip": "yes"})
    assert TrainConfig.from_dict({**full, "lr": 1}).lr == 1.0  # ints are valid floats
    with pytest.raises(ConfigError, match="not found"):
        TrainConfig.load(tmp_path / "missing.yaml")


def test_registry_metadata_display_name_and_group():
    from cyclebench.registry import GROUPS

    expected = {"cyclegan": ("CycleGAN (ours)", "proposed"), "cycle_only": ("Cycle alone", "ablation"),
                "gan_only": ("GAN alone", "ablation"),
                "gan_forward": ("GAN + forward cycle", "ablation"),
                "gan_backward": ("GAN + backward cycle", "ablation"),
                "cogan": ("CoGAN", "baseline"), "bigan": ("BiGAN/ALI", "baseline"),
                "simgan": ("SimGAN", "baseline"), "feature_gan": ("Feature loss + GAN", "baseline"),
                "pix2pix": ("pix2pix", "paired")}
    for name, (display, group) in expected.items():
        spec = get_method(name)
        assert (spec.display_name, spec.group) == (display, group), name
        assert spec.group in GROUPS
    with pytest.raises(ValueError, match="group 'nonsense'"):
        register_method("zz_bad_group", display_name="Z", group="nonsense")(type("Z", (), {}))
    with pytest.raises(ValueError, match="display_name"):
        register_method("zz_bad_name", display_name="")(type("Z", (), {}))


def test_keys_of_one_source_do_not_leak_into_another(smoke):
    """The smoke profile pointed at real Cityscapes by an override (as the README says): its
    synthetic render size must not become the expected size of the real frames."""
    cfg = copy.deepcopy(smoke)
    cfg["tasks"]["cityscapes"].update(source="cityscapes", root="/data/cityscapes")
    cfg = validate_profile(cfg)
    real = data_config(cfg, "cityscapes")
    assert real.full_size is None and real.root == "/data/cityscapes"
    synthetic = data_config(validate_profile(copy.deepcopy(smoke)), "cityscapes")
    assert synthetic.full_size == tuple(smoke["tasks"]["cityscapes"]["full_size"])
    assert synthetic.root is None


def test_errors_name_the_file_that_set_the_key(tmp_path, repo_root):
    override = tmp_path / "mine.yaml"
    override.write_text("train:\n  lr: 1e-3\n")
    with pytest.raises(ConfigError) as exc:
        load_profile(repo_root / "config" / "smoke.yaml", override)
    text = str(exc.value)
    assert "train.lr" in text and f"(set in {override})" in text
    assert "write it with a decimal point, e.g. 1.0e-3" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [lr\n")
    with pytest.raises(ConfigError, match=rf"{bad}: not valid YAML"):
        load_profile(repo_root / "config" / "smoke.yaml", bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n")
    with pytest.raises(ConfigError, match=rf"{listing}: expected a mapping"):
        load_profile(repo_root / "config" / "smoke.yaml", listing)


def test_maps_only_offline_profile_says_how_to_fix_it(smoke):
    cfg = copy.deepcopy(smoke)
    del cfg["tasks"]["cityscapes"]
    with pytest.raises(ConfigError, match="add the cityscapes task, or set eval.fid_extractor: "
                                          "inception-v3-compat"):
        validate_profile(cfg)
