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


rule score:
    input:
        translations=f"{R}/translations/{{task}}/{{method}}/seed{{seed}}/{{direction}}",
        # the run's resolved config (read for the substitutes column; a train output)
        run_config=f"{R}/runs/{{task}}/{{method}}/seed{{seed}}/config.resolved.yaml",
        data=lambda w: data_marker(w.task),
        evaluator=score_evaluator_inputs,
    output:
        csv=f"{R}/metrics/{{task}}/{{method}}/seed{{seed}}/{{direction}}.csv",
        # per-image statistics (confusion counts, features): the claims' bootstrap resamples them
        stats=f"{R}/stats/{{task}}/{{method}}/seed{{seed}}/{{direction}}.npz",
    log:
        f"{R}/logs/score/{{task}}/{{method}}/seed{{seed}}/{{direction}}.log",
    params:
        cfg=eval_config_json,
        data_root=lambda w: data_dir(w.task),
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
        "python3 -m cyclebench score --config-json {params.cfg:q} --task {wildcards.task} "
        "--method {wildcards.method} --seed {wildcards.seed} --direction {wildcards.direction} "
        "--translations {input.translations} --data-root {params.data_root} "
        "--run-config {input.run_config} {params.evaluator} --fid-cache {params.fid_cache} "
        "--out {output.csv} --stats {output.stats} --threads {threads} > {log} 2>&1"


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
