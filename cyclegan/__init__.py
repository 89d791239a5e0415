"""CycleGAN (Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017) and the shared training machinery used by every method of the benchmark.

Modules: ``networks`` (Section 7.2 architectures), ``losses`` (Sections 3-5), ``image_pool``
(Section 4 history buffer), ``schedule`` (Section 7.1 learning-rate rule), ``model`` (the
``cyclegan`` method and its Section 5.1.4 ablations), ``train`` (the shared trainer),
``translate`` and ``bench``.  Command line: ``python -m cyclegan {train,translate,bench}``.

Importing the package is light: submodules are imported where they are used.
"""
