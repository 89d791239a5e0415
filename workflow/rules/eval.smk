# Evaluation: the fixed FCN evaluator, then every metric of every run's translations.


rule train_evaluator:
    input:
        data=data_marker("cityscapes"),
    output:
        model=f"{R}/evaluator/cityscapes/evaluator.pt",
        gt=f"{R}/evaluator/cityscapes/ground_truth.csv",
    log:
        f"{R}/logs/evaluator/cityscapes.log",
    benchmark:
        f"{R}/benchmarks/evaluator/cityscapes.tsv"
    params:
        cfg=evaluator_config_json,
        eval_cfg=eval_config_json,
        data=lambda w, input: str(Path(input.data).parent),
        out=lambda w, output: str(Path(output.model).parent),
    threads: RES["train_threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem_mb_train"],
        runtime=RES["runtime_train"],
    conda:
        ENV
    shell:
        "python3 -m cyclebench evaluator --config-json {params.cfg:q} "
        "--eval-config-json {params.eval_cfg:q} --data-root {params.data} "
        "--out {params.out} --threads {threads} > {log} 2>&1"


# Translate + score, one job per run (both directions in one process: the interpreter and torch
# start once instead of four times; this was ~30 % of the default DAG's jobs' wall time). One
# rule per task, because a task's two direction names are part of every output path.
for _task in config["tasks"]:
    _dirs = TASKS[_task].directions

    rule:
        name:
            f"evaluate_{_task}"
        input:
            model=f"{R}/runs/{_task}/{{method}}/seed{{seed}}/model.pt",
            # the run's resolved config (read for the substitutes column; a train output)
            run_config=f"{R}/runs/{_task}/{{method}}/seed{{seed}}/config.resolved.yaml",
            data=data_marker(_task),
            evaluator=score_evaluator_inputs(_task),
        output:
            translations=[
                directory(translation_dir(_task, "{method}", "{seed}", d)) for d in _dirs
            ],
            csv=[f"{R}/metrics/{_task}/{{method}}/seed{{seed}}/{d}.csv" for d in _dirs],
            # per-image statistics (confusion counts, features): the claims' bootstrap input
            stats=[f"{R}/stats/{_task}/{{method}}/seed{{seed}}/{d}.npz" for d in _dirs],
        log:
            f"{R}/logs/evaluate/{_task}/{{method}}/seed{{seed}}.log",
        benchmark:
            f"{R}/benchmarks/evaluate/{_task}/{{method}}/seed{{seed}}.tsv"
        params:
            cfg=eval_config_json,
            task=_task,
            directions=" ".join(_dirs),
            run=lambda w, input: str(Path(input.model).parent),
            data_root=lambda w, input: str(Path(input.data).parent),
            evaluator=lambda w, input: (
                f"--evaluator {Path(input.evaluator[0]).parent}" if input.evaluator else ""
            ),
            fid_cache=fid_cache_dir(),
        threads: RES["eval_threads"]
        resources:
            gpu=RES["gpu"],
            mem_mb=RES["mem_mb_eval"],
        conda:
            ENV
        shell:
            "python3 -m cyclebench evaluate --config-json {params.cfg:q} --task {params.task} "
            "--method {wildcards.method} --seed {wildcards.seed} --run {params.run} "
            "--data-root {params.data_root} --directions {params.directions} "
            "--translations {output.translations} --out {output.csv} --stats {output.stats} "
            "{params.evaluator} --fid-cache {params.fid_cache} --threads {threads} > {log} 2>&1"


# Learning curves (train.snapshots > 0): each snapshot of a run translated and scored like its
# final model; the translations are temporary (only the metric rows are kept).
for _task in config["tasks"] if CURVES else []:
    _dirs = TASKS[_task].directions

    rule:
        name:
            f"curve_{_task}"
        input:
            # model.pt is written after every snapshot: the run's snapshots are all on disk
            model=f"{R}/runs/{_task}/{{method}}/seed{{seed}}/model.pt",
            run_config=f"{R}/runs/{_task}/{{method}}/seed{{seed}}/config.resolved.yaml",
            data=data_marker(_task),
            evaluator=score_evaluator_inputs(_task),
        output:
            translations=[
                temp(directory(f"{R}/curves/translations/{_task}/{{method}}/seed{{seed}}/"
                               f"epoch{{epoch}}/{d}"))
                for d in _dirs
            ],
            csv=[curve_metric_file(_task, "{method}", "{seed}", "{epoch}", d) for d in _dirs],
        log:
            f"{R}/logs/curve/{_task}/{{method}}/seed{{seed}}/epoch{{epoch}}.log",
        benchmark:
            f"{R}/benchmarks/curve/{_task}/{{method}}/seed{{seed}}/epoch{{epoch}}.tsv"
        params:
            cfg=eval_config_json,
            task=_task,
            directions=" ".join(_dirs),
            run=lambda w, input: str(Path(input.model).parent),
            snapshot=lambda w, input: f"{Path(input.model).parent}/snapshots/epoch{w.epoch}.pt",
            data_root=lambda w, input: str(Path(input.data).parent),
            evaluator=lambda w, input: (
                f"--evaluator {Path(input.evaluator[0]).parent}" if input.evaluator else ""
            ),
            fid_cache=fid_cache_dir(),
        threads: RES["eval_threads"]
        resources:
            gpu=RES["gpu"],
            mem_mb=RES["mem_mb_eval"],
        conda:
            ENV
        shell:
            "python3 -m cyclebench evaluate --config-json {params.cfg:q} --task {params.task} "
            "--method {wildcards.method} --seed {wildcards.seed} --run {params.run} "
            "--model {params.snapshot} --data-root {params.data_root} "
            "--directions {params.directions} --translations {output.translations} "
            "--out {output.csv} {params.evaluator} --fid-cache {params.fid_cache} "
            "--threads {threads} > {log} 2>&1"


rule metrics:
    input:
        metric_files(),
        ground_truth_files(),


# Stand-ins scored like translations (real images of other scenes, the input passed through):
# the floor and the leniency of the metrics, read beside the methods (eval/sanity.py).
rule sanity:
    input:
        data=[data_marker(t) for t in config["tasks"]],
        evaluator=[f"{R}/evaluator/cityscapes/evaluator.pt"] if USES_EVALUATOR else [],
        ground_truth=ground_truth_files(),
    output:
        csv=report(
            f"{R}/tables/sanity.csv",
            caption="../report/sanity.rst",
            category="Diagnostics",
            labels={"profile": config["profile"], "what": "sanity checks (CSV)"},
        ),
        md=f"{R}/tables/sanity.md",
    log:
        f"{R}/logs/sanity.log",
    benchmark:
        f"{R}/benchmarks/sanity/sanity.tsv"
    params:
        cfg=eval_config_json,
        data=" ".join(f"--data-root {a}" for a in data_root_args()),
        evaluator=lambda w, input: (
            f"--evaluator {Path(input.evaluator[0]).parent}" if input.evaluator else ""
        ),
        gt=lambda w, input: (
            f"--evaluator-csv {input.ground_truth[0]}" if input.ground_truth else ""
        ),
        fid_cache=fid_cache_dir(),
    threads: RES["eval_threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem_mb_eval"],
    conda:
        ENV
    shell:
        "python3 -m cyclebench sanity --config-json {params.cfg:q} {params.data} "
        "{params.evaluator} {params.gt} --fid-cache {params.fid_cache} --out {output.csv} "
        "--markdown {output.md} --threads {threads} > {log} 2>&1"
