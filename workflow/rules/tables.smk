# Tables 1-5 (+ agreement with the paper), seaborn figures, the study pages, the report and the
# metric regression check.  Every step reads exactly the files its rule lists.

TABLES = ["table1", "table2", "table3", "table4", "table5", "agreement"]


rule make_tables:
    input:
        metrics=metric_files(),
        ground_truth=ground_truth_files(),
    output:
        **{
            name: report(
                f"{R}/tables/{name}.csv",
                caption=f"../report/{name}.rst",
                category="Tables",
                labels={"profile": config["profile"], "table": name},
            )
            for name in TABLES
        },
    log:
        f"{R}/logs/tables.log",
    benchmark:
        f"{R}/benchmarks/tables/tables.tsv"
    params:
        gt=lambda w, input: " ".join(f"--evaluator-csv {p}" for p in input.ground_truth),
        metrics=lambda w, input: " ".join(f"--metrics-csv {p}" for p in input.metrics),
        profile=config["profile"],
        out=lambda w, output: str(Path(output.table1).parent),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench tables {params.metrics} {params.gt} "
        "--profile {params.profile} --out-dir {params.out} > {log} 2>&1"


rule make_figures:
    input:
        tables=[f"{R}/tables/{name}.csv" for name in TABLES if name != "agreement"],
        run_configs=run_config_files(),
        translations=list(grid_translations().values()),
        data=[data_marker(t) for t in config["tasks"]],
    output:
        report(
            directory(f"{R}/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
            labels={"profile": config["profile"], "figure": "{name}"},
        ),
    log:
        f"{R}/logs/figures.log",
    benchmark:
        f"{R}/benchmarks/figures/figures.tsv"
    params:
        runs=lambda w, input: " ".join(f"--run {Path(p).parent}" for p in input.run_configs),
        translations=" ".join(f"--translations {k}={v}" for k, v in grid_translations().items()),
        data=" ".join(f"--data-root {a}" for a in data_root_args()),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench plots --table {input.tables} {params.runs} "
        "{params.translations} {params.data} --out-dir {output} > {log} 2>&1"


rule study_page:
    input:
        translations=study_translations,
        data=data_marker("maps") if "maps" in config["tasks"] else [],
    output:
        report(
            f"{R}/study/{{direction}}.html",
            caption="../report/study.rst",
            category="Perceptual study (Table 1 protocol)",
            labels={"profile": config["profile"], "direction": "{direction}"},
        ),
    log:
        f"{R}/logs/study/{{direction}}.log",
    benchmark:
        f"{R}/benchmarks/study/{{direction}}.tsv"
    params:
        translations=lambda w: " ".join(f"--translations {a}" for a in study_translation_args(w)),
        data=lambda w: data_dir("maps"),
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench study {params.translations} --data-root {params.data} "
        "--task maps --direction {wildcards.direction} --out {output} > {log} 2>&1"


rule claims:
    input:
        metrics=metric_files(),
        stats=stats_files(),
    output:
        csv=report(
            f"{R}/tables/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
            labels={"profile": config["profile"], "what": "verdicts (CSV)"},
        ),
        md=f"{R}/tables/claims.md",
        html=report(
            f"{R}/tables/claims.html",
            caption="../report/claims.rst",
            category="Claims",
            labels={"profile": config["profile"], "what": "verdicts"},
        ),
        figure=report(
            f"{R}/claims/claims.png",
            caption="../report/claims.rst",
            category="Claims",
            labels={"profile": config["profile"], "what": "differences and intervals"},
        ),
    log:
        f"{R}/logs/claims.log",
    benchmark:
        f"{R}/benchmarks/claims/claims.tsv"
    params:
        cfg=claims_config_json,
        out=lambda w, output: str(Path(output.csv).parent),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench claims --config-json {params.cfg:q} "
        "--metrics-csv {input.metrics} --stats {input.stats} --out-dir {params.out} "
        "--figure {output.figure} > {log} 2>&1"


# Learning curves and best-vs-final checkpoint scores (only with train.snapshots > 0).
rule learning_curves:
    input:
        [csv for _, csv in curve_point_args()] if CURVES else [],
    output:
        curves=report(
            f"{R}/tables/learning_curves.csv",
            caption="../report/curves.rst",
            category="Learning curves",
            labels={"profile": config["profile"], "what": "every point (CSV)"},
        ),
        best=report(
            f"{R}/tables/best_vs_final.csv",
            caption="../report/curves.rst",
            category="Learning curves",
            labels={"profile": config["profile"], "what": "best vs final checkpoint (CSV)"},
        ),
        md=f"{R}/tables/best_vs_final.md",
        figures=[
            report(
                f"{R}/curves/{t}.png",
                caption="../report/curves.rst",
                category="Learning curves",
                labels={"profile": config["profile"], "what": f"{t} curves"},
            )
            for t in config["tasks"]
        ],
    log:
        f"{R}/logs/curves.log",
    benchmark:
        f"{R}/benchmarks/curves/curves.tsv"
    params:
        points=" ".join(f"--point {e} {csv}" for e, csv in curve_point_args()),
        figures=" ".join(f"--figure {t}={R}/curves/{t}.png" for t in config["tasks"]),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench curves {params.points} --out {output.curves} "
        "--best-vs-final {output.best} --markdown {output.md} {params.figures} > {log} 2>&1"


# Where the DAG's time went: every job's benchmark file, by stage, and core use over time.
rule timings:
    input:
        benchmark_files(),
    output:
        jobs=f"{R}/tables/timings.csv",
        summary=report(
            f"{R}/tables/timings_summary.csv",
            caption="../report/timings.rst",
            category="Benchmarks",
            labels={"profile": config["profile"], "what": "time per stage (CSV)"},
        ),
        md=f"{R}/tables/timings.md",
        figure=report(
            f"{R}/benchmarks/timings.png",
            caption="../report/timings.rst",
            category="Benchmarks",
            labels={"profile": config["profile"], "what": "time per stage, core use"},
        ),
    log:
        f"{R}/logs/timings.log",
    params:
        # the benchmarks folder: the inputs span several stage folders, so it is their common path
        root=lambda w, input: os.path.commonpath(list(input)),
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench timings {input} --benchmark-root {params.root} "
        "--out {output.jobs} --summary {output.summary} --markdown {output.md} "
        "--figure {output.figure} > {log} 2>&1"


rule tables:
    input:
        rules.make_tables.output,
        rules.make_figures.output,
        rules.claims.output,
        rules.sanity.output,
        study_pages(),
        rules.timings.output,
        rules.learning_curves.output if CURVES else [],


# `snakemake --configfile config/smoke.yaml regress`: the profile's metric rows against the
# committed reference (fails when a metric moved beyond its tolerance).
rule regress:
    input:
        metrics=metric_files(),
        ground_truth=ground_truth_files(),
    output:
        f"{R}/regress/report.txt",
    log:
        f"{R}/logs/regress.log",
    params:
        metrics=lambda w, input: " ".join(f"--metrics-csv {p}" for p in input.metrics),
        gt=lambda w, input: " ".join(f"--evaluator-csv {p}" for p in input.ground_truth),
        references=reference_dir(),
        tolerances=tolerances_yaml(),
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench regress {params.metrics} {params.gt} "
        "--reference-dir {params.references} --tolerances {params.tolerances} "
        "> {log} 2>&1 && cp {log} {output}"


# `make reference` (snakemake ... --forcerun update_reference update_reference): rewrite this
# numeric path's committed reference (results/reference/<profile>.<evaluator hash>.csv) from the
# profile's metric rows after an intended change; commit it.
rule update_reference:
    input:
        metrics=metric_files(),
        ground_truth=ground_truth_files(),
    output:
        f"{R}/regress/reference_updated.txt",
    log:
        f"{R}/logs/update_reference.log",
    params:
        metrics=lambda w, input: " ".join(f"--metrics-csv {p}" for p in input.metrics),
        gt=lambda w, input: " ".join(f"--evaluator-csv {p}" for p in input.ground_truth),
        references=reference_dir(),
        tolerances=tolerances_yaml(),
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        ENV
    shell:
        "python3 -m cyclebench regress {params.metrics} {params.gt} "
        "--reference-dir {params.references} --tolerances {params.tolerances} --update "
        "> {log} 2>&1 "
        "&& cp {log} {output}"
