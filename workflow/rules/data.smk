# Data preparation: synthetic generators or real datasets -> results/<profile>/data/<task>/.


rule prepare_data:
    output:
        f"{R}/data/{{task}}/meta.json",
    log:
        f"{R}/logs/data/{{task}}.log",
    benchmark:
        f"{R}/benchmarks/data/{{task}}.tsv"
    params:
        cfg=data_config_json,
        out=lambda w: data_dir(w.task),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        ENV
    shell:
        "python3 -m cyclebench data --config-json {params.cfg:q} "
        "--out {params.out} > {log} 2>&1"


rule data:
    input:
        [data_marker(t) for t in config["tasks"]],
