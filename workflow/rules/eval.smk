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
        profile=lambda w: view_json(eval_view(config, "cityscapes")),
        out=lambda w, output: str(Path(output.model).parent),
    threads: RES["train_threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem_mb_train"],
        runtime=RES["runtime_train"],
    conda:
        ENV
    shell:
        "python -m eval train-evaluator --task cityscapes --profile-json {params.profile:q} "
        "--out {params.out} --threads {threads} > {log} 2>&1"


rule score:
    input:
        translations=f"{R}/translations/{{task}}/{{method}}/seed{{seed}}/{{direction}}",
        # the run's model.pt (and so its config.resolved.yaml, read for the substitutes column)
        model=f"{R}/runs/{{task}}/{{method}}/seed{{seed}}/model.pt",
        data=lambda w: data_marker(w.task),
        evaluator=evaluator_inputs,
    output:
        f"{R}/metrics/{{task}}/{{method}}/seed{{seed}}/{{direction}}.csv",
    log:
        f"{R}/logs/score/{{task}}/{{method}}/seed{{seed}}/{{direction}}.log",
    params:
        profile=lambda w: view_json(eval_view(config, w.task)),
        evaluator=lambda w, input: (
            f"--evaluator {R}/evaluator/cityscapes" if input.evaluator else ""
        ),
    threads: RES["eval_threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem_mb_eval"],
    conda:
        ENV
    shell:
        "python -m eval score --profile-json {params.profile:q} --task {wildcards.task} "
        "--method {wildcards.method} --seed {wildcards.seed} --direction {wildcards.direction} "
        "--translations {input.translations} {params.evaluator} --out {output} "
        "--threads {threads} > {log} 2>&1"


rule metrics:
    input:
        metric_files(),
        ground_truth_files(),
