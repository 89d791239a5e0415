"""Data for the benchmark's two tasks (CycleGAN, Zhu et al., ICCV 2017, Section 7.1).

- ``palette``: the 19 Cityscapes train classes, colours, colour <-> train id maps.
- ``synthetic_cityscapes`` / ``synthetic_maps``: procedural stand-ins for Cityscapes
  labels <-> photo and maps <-> aerial photo (the embedded default data).
- ``cityscapes``: preparation from the original Cityscapes layout.
- ``pix2pix_archive``: download and A|B split of pix2pix archives; ``extract``: their safe
  extraction; ``selection``: the deterministic choice of at most N frames.
- ``prepare``: one entry point writing a prepared data root from a ``DataConfig``
  (format in ``docs/CONTRACTS.md``); ``meta``: reading its ``meta.json`` and verifying the
  content hash that real sources record (``meta.verify``); command line ``cyclebench data``
  (``cli``).
- ``writer``: resizing rules and the atomic writer of a prepared data root.
- ``torch_data``: the torch Datasets that read a prepared data root.
"""
