# Fan-in: one tidy table per result type, effective config copied. Deterministic results (scores.tsv)
# and run-dependent timings (timings.tsv: per-fit timing.tsv + the fit jobs' benchmarks) are kept apart.


# A fan-in over many small files: run it in the submitting Snakemake process (a cluster job would
# only add queueing time), like the figures (plots.smk) and the data fetches (data.smk).
localrules:
    aggregate_scores,


rule aggregate_scores:
    input:
        scores=get_fit_paths("score.tsv"),
        summaries=get_fit_paths("summary.json"),
        H=get_fit_paths("H.tsv"),
        timings=get_fit_paths("timing.tsv"),
        fit_benchmarks=get_fit_benchmarks(),
        data_benchmarks=get_data_benchmarks(),
    output:
        scores=report(f"{TABLES_DIR}/scores.tsv", category="Tables", labels={"table": "scores"}),
        timings=report(f"{TABLES_DIR}/timings.tsv", category="Tables", labels={"table": "timings"}),
        consistency=f"{TABLES_DIR}/consistency.tsv",
        tweedie_profile=f"{TABLES_DIR}/tweedie_profile.tsv",
        nb_dispersion=f"{TABLES_DIR}/nb_dispersion.tsv",
        overhead=f"{TABLES_DIR}/overhead.tsv",
        config=f"{TABLES_DIR}/config_used.yaml",
    params:
        fits=get_fit_keys(),
        config=config,
    log:
        f"{LOGS}/aggregate_scores/aggregate_scores.log",
    benchmark:
        f"{BENCH}/aggregate_scores/aggregate_scores.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/aggregate_scores.py"
