"""Baselines of the CycleGAN paper (Zhu et al., ICCV 2017, Section 5.1.2).

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

All are trained by the shared trainer (``cyclegan.train``) and translate both directions of
both tasks.  See ``baselines/README.md`` to add one.
"""

from baselines import bigan, cogan, feature_gan, pix2pix, simgan  # noqa: F401  (registration)

__all__ = ["bigan", "cogan", "feature_gan", "pix2pix", "simgan"]
