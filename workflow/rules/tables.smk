# Tables 1-5 (+ agreement with the paper), seaborn figures and the report.

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
    params:
        gt=lambda w, input: " ".join(f"--evaluator-csv {p}" for p in input.ground_truth),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python -m eval tables --metrics-dir {R}/metrics {params.gt} "
        "--profile {config[profile]} --out-dir {R}/tables > {log} 2>&1"


rule make_figures:
    input:
        tables=rules.make_tables.output,
        metrics=metric_files(),
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
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python -m eval plots --tables-dir {R}/tables --runs-dir {R}/runs "
        "--translations-dir {R}/translations --data-dir {R}/data --out-dir {output} > {log} 2>&1"


rule tables:
    input:
        rules.make_tables.output,
        rules.make_figures.output,
