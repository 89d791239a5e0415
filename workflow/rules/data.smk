# Data preparation: synthetic generators or real datasets -> results/<profile>/data/<task>/.


rule prepare_data:
    output:
        f"{R}/data/{{task}}/meta.json",
    log:
        f"{R}/logs/data/{{task}}.log",
    params:
        profile=lambda w: view_json(data_view(config, w.task)),
        out=lambda w: f"{R}/data/{w.task}",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        ENV
    shell:
        "python -m datasets prepare --task {wildcards.task} --profile-json {params.profile:q} "
        "--out {params.out} > {log} 2>&1"


rule data:
    input:
        [data_marker(t) for t in config["tasks"]],
