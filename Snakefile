# cyclebench: regenerate the tables of the CycleGAN paper (Zhu et al., ICCV 2017).
#   snakemake --cores 8 tables                                  (default profile, synthetic data)
#   snakemake --cores 2 --configfile config/smoke.yaml tables   (CI smoke profile)
#   snakemake --configfile config/paper.yaml -n tables          (paper reproduction, dry run)
from snakemake.utils import min_version

min_version("9.0")

# The report's front page (`snakemake --report`): where to start reading.
report: "workflow/report/workflow.rst"

# The embedded default profile; a --configfile on the command line replaces it entirely.
if not config:

    configfile: "config/default.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/eval.smk"
include: "workflow/rules/tables.smk"


rule all:
    default_target: True
    input:
        rules.tables.input,
