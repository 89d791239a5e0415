"""cyclebench: a reproducible benchmark harness for the CycleGAN paper (Zhu et al., ICCV 2017).

Shared infrastructure lives here: the method registry (``cyclebench.registry``), the task
definitions (``cyclebench.tasks``), the typed run configuration (``cyclebench.config``) and
small utilities (``cyclebench.utils``: seeding, atomic writes, provenance).
"""

__version__ = "0.1.0"
