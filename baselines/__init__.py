"""Baselines of the CycleGAN paper (Zhu et al., ICCV 2017, Section 5.1.2), and any other method.

Importing this package registers every baseline with ``cyclebench.registry``:

============  =================================================  ==========================
name          method                                             module
============  =================================================  ==========================
cogan         CoGAN: coupled GANs + latent inversion             :mod:`baselines.cogan`
bigan         BiGAN/ALI: joint (x, G(x)) vs (F(y), y) critic     :mod:`baselines.bigan`
simgan        SimGAN: LSGAN + lambda * ||x - G(x)||_1            :mod:`baselines.simgan`
feature_gan   SimGAN with the L1 on VGG-16 relu4_2 features      :mod:`baselines.feature_gan`
pix2pix       paired U-Net + conditional PatchGAN + 100 * L1     :mod:`baselines.pix2pix`
============  =================================================  ==========================

The paper's five are imported first, in the paper's order (the tables list a group's methods
in registration order); then every other module of the package is imported, sorted by name,
so that one new file ``baselines/mymethod.py`` with ``@register_method("mymethod",
display_name=..., group="extra")`` is registered with no other edit.

All are trained by the shared trainer (``cyclegan.train``) and translate both directions of
both tasks.  See ``baselines/README.md`` to add one.
"""

import importlib
import pkgutil

# registration order = the paper's order (Table 1-3 rows): keep this import first
from cyclebench.baselines import cogan, bigan, simgan, feature_gan, pix2pix  # noqa: F401, I001

PAPER_BASELINES = ["cogan", "bigan", "simgan", "feature_gan", "pix2pix"]


def _import_other_modules() -> list[str]:
    """Import every other module of this package (sorted), registering its methods."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__)
                   if not m.name.startswith("_") and m.name not in PAPER_BASELINES)
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


OTHER_MODULES = _import_other_modules()

__all__ = PAPER_BASELINES + OTHER_MODULES
