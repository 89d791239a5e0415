"""cyclebench: a reproducible benchmark harness for the CycleGAN paper (Zhu et al., ICCV 2017).

Shared infrastructure lives here: the profile, validated once (``cyclebench.profile``, against
``cyclebench.schema``), the typed step configs it builds (``cyclebench.config``), the method
registry (``cyclebench.registry``), the GAN kit every method shares (``cyclebench.gan``), the
task definitions (``cyclebench.tasks``), the one command (``cyclebench.cli``), and utilities
(``cyclebench.utils``: seeding, atomic writes, provenance).  The paper's method, the baselines,
the evaluation and the data are the sub-packages ``cyclebench.cyclegan``,
``cyclebench.baselines``, ``cyclebench.eval`` and ``cyclebench.datasets``.
"""

__version__ = "0.1.0"
