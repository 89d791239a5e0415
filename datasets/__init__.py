"""Data for the benchmark's two tasks (CycleGAN, Zhu et al., ICCV 2017, Section 7.1).

- ``datasets.palette``: the 19 Cityscapes train classes, colours, colour <-> train id maps.
- ``datasets.synthetic_cityscapes`` / ``datasets.synthetic_maps``: procedural stand-ins for
  Cityscapes labels <-> photo and maps <-> aerial photo (the embedded default data).
- ``datasets.cityscapes``: preparation from the original Cityscapes layout.
- ``datasets.pix2pix_archive``: download / safe extraction / A|B split of pix2pix archives.
- ``datasets.prepare``: one entry point writing ``results/<profile>/data/<task>/``
  (format in ``docs/CONTRACTS.md``); command line ``python -m datasets prepare``.
- ``datasets.torch_data``: the torch Datasets that read a prepared data root.

Submodules are imported lazily so that ``import datasets`` stays cheap.
"""

from __future__ import annotations


def prepare_synthetic(*args, **kwargs):
    """See :func:`datasets.prepare.prepare_synthetic`."""
    from datasets.prepare import prepare_synthetic as _impl

    return _impl(*args, **kwargs)


__all__ = ["prepare_synthetic"]
