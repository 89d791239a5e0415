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
        metrics=lambda w: f"{R}/metrics",
        profile=config["profile"],
        out=lambda w, output: str(Path(output.table1).parent),
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python -m eval tables --metrics-dir {params.metrics} --metrics-csv {input.metrics} "
        "{params.gt} "
        "--profile {params.profile} --out-dir {params.out} > {log} 2>&1"


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
    params:
        tables=lambda w, input: str(Path(input.tables[0]).parent),
        runs=f"{R}/runs",
        translations=f"{R}/translations",
        data=f"{R}/data",
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        "python -m eval plots --tables-dir {params.tables} --runs-dir {params.runs} "
        "--translations-dir {params.translations} --data-dir {params.data} --out-dir {output} "
        "> {log} 2>&1"


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
    params:
        translations=lambda w: f"{R}/translations",
        data=lambda w: f"{R}/data",
        methods=lambda w: ",".join(config["tasks"]["maps"]["methods"]),
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        ENV
    shell:
        "python -m eval.report_page --translations-dir {params.translations} "
        "--data-dir {params.data} --task maps --direction {wildcards.direction} "
        "--methods {params.methods} "
        "--out {output} > {log} 2>&1"


rule tables:
    input:
        rules.make_tables.output,
        rules.make_figures.output,
        study_pages(),
