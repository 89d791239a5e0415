"""Profile schema, semantic checks, TrainConfig and the method registry."""

from __future__ import annotations

import copy

import pytest
import yaml

from cyclebench.config import TRAIN_KEYS, ConfigError, TrainConfig, run_config
from cyclebench.profile import load_profile, load_schema, validate_profile
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


def test_paper_profile_uses_paper_settings(repo_root):
    cfg = load_profile(repo_root / "config" / "paper.yaml")
    city, maps = cfg["tasks"]["cityscapes"], cfg["tasks"]["maps"]
    assert city["train"] == {"load_size": 143, "crop_size": 128, "n_blocks": 6,
                             "iters_per_epoch": 2975}
    assert maps["train"] == {"load_size": 286, "crop_size": 256, "n_blocks": 9,
                             "iters_per_epoch": 1096}
    run = run_config(cfg, "cityscapes", "cyclegan", 0)
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


def test_crop_load_check_uses_trainconfig_defaults(smoke):
    cfg = copy.deepcopy(smoke)
    cfg["tasks"]["maps"]["train"] = {"load_size": 200}  # crop defaults to 128: valid
    validate_profile(cfg)
    cfg = copy.deepcopy(smoke)
    cfg["tasks"]["maps"]["train"] = {"crop_size": 200}  # load defaults to 143: invalid
    with pytest.raises(ConfigError, match="crop_size"):
        validate_profile(cfg)


def test_schema_train_section_matches_trainconfig():
    schema = load_schema()
    assert set(schema["$defs"]["train_settings"]["properties"]) == TRAIN_KEYS


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


def test_run_config_precedence(smoke):
    cfg = validate_profile(copy.deepcopy(smoke))
    cfg["train"]["lr"] = 1e-3
    cfg["tasks"]["maps"]["train"]["lr"] = 5e-4
    cfg["method_params"]["simgan"] = {"lambda_self_reg": 0.25}
    city = run_config(cfg, "cityscapes", "cyclegan", 3, threads=2)
    maps = run_config(cfg, "maps", "simgan", 0)
    assert city.lr == 1e-3 and maps.lr == 5e-4
    assert city.seed == 3 and city.threads == 2 and city.task == "cityscapes"
    assert city.data_root.endswith("smoke/data/cityscapes")
    assert maps.method_params["lambda_self_reg"] == 0.25
    assert city.method_params == get_method("cyclegan").resolved_params()


def test_ablations_are_variants_of_cyclegan():
    for name in ["cycle_only", "gan_only", "gan_forward", "gan_backward"]:
        spec = get_method(name)
        assert spec.base == "cyclegan"
        assert spec.cls is get_method("cyclegan").cls
        assert spec.params  # differs from cyclegan only by parameters


def test_registry_rejects_duplicates():
    registered_methods()
    with pytest.raises(ValueError, match="already registered"):
        @register_method("cyclegan")
        class Dup:  # noqa: F811
            pass


def test_unknown_method_error_lists_known():
    with pytest.raises(KeyError, match="registered methods"):
        get_method("does_not_exist")


def test_trainconfig_roundtrip_and_errors(tmp_path):
    cfg = TrainConfig(task="maps", seed=4, lr=1e-3, method_params={"a": 1})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**cfg.to_dict(), "provenance": {"commit": "x"}}))
    assert TrainConfig.load(path) == cfg
    with pytest.raises(ConfigError, match="unknown key.*'colour'"):
        TrainConfig.from_dict({"colour": 1})
    with pytest.raises(ConfigError, match="'n_epochs' must be of type int"):
        TrainConfig.from_dict({"n_epochs": 1.5})
    with pytest.raises(ConfigError, match="'flip' must be of type bool"):
        TrainConfig.from_dict({"flip": "yes"})
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0  # ints are valid floats
    with pytest.raises(ConfigError, match="not found"):
        TrainConfig.load(tmp_path / "missing.yaml")
