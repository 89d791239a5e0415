"""CycleGAN (Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017) and the shared training machinery used by every method of the benchmark.

Modules: ``networks`` (Section 7.2 architectures), ``losses`` (Sections 3-5), ``image_pool``
(Section 4 history buffer), ``schedule`` (Section 7.1 learning-rate rule), ``model`` (the
``cyclegan`` method and its Section 5.1.4 ablations); the shared trainer: ``train`` (the loop),
``checkpoint`` (checkpoints, RNG state, superseded runs, loading a trained run),
``train_log`` (loss log and sample grids), ``data_order`` (datasets and the seeded order of
batches); ``translate``, ``bench`` and ``cli`` (``cyclebench train|translate|bench``).  The
GAN kit every method shares (``GANMethod``, ``discriminator_loss``) is ``cyclebench.gan``.

Importing the package is light: submodules are imported where they are used.
"""
