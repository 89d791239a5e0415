# Training (CycleGAN, ablations, baselines: one registry); eval.smk translates and scores.


rule train:
    input:
        data=lambda w: data_marker(w.task),
    output:
        model=f"{R}/runs/{{task}}/{{method}}/seed{{seed}}/model.pt",
        # written first by every run: the resolved TrainConfig the score job reads
        config=f"{R}/runs/{{task}}/{{method}}/seed{{seed}}/config.resolved.yaml",
    log:
        f"{R}/logs/train/{{task}}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{task}}/{{method}}/seed{{seed}}.tsv"
    params:
        cfg=lambda w: train_config_json(w),
        out=lambda w: run_dir(w.task, w.method, w.seed),
    threads: RES["train_threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem_mb_train"],
        runtime=RES["runtime_train"],
    conda:
        ENV
    shell:
        "python3 -m cyclebench train --config-json {params.cfg:q} --out {params.out} "
        "--threads {threads} --restart-on-change > {log} 2>&1"


rule train_all:
    input:
        [f"{run_dir(t, m, s)}/model.pt" for t, m, s in runs()],
