# One rule for every data set x split x structure x noise model x rank x seed. The job also scores
# its own fit (one row of score.tsv carrying every parameter), so no second process per fit is needed.
# What differs between runs of the same fit (run time, host, SLURM job) goes to timing.tsv, never to
# score.tsv, so that the scores are byte-identical for the same config and seeds.


rule fit_model:
    input:
        unpack(get_fit_inputs),
    output:
        W=f"{FITS}/{FIT_PATTERN}/W.tsv",
        H=f"{FITS}/{FIT_PATTERN}/H.tsv",
        trace=f"{FITS}/{FIT_PATTERN}/trace.tsv",
        summary=f"{FITS}/{FIT_PATTERN}/summary.json",
        score=f"{FITS}/{FIT_PATTERN}/score.tsv",
        timing=f"{FITS}/{FIT_PATTERN}/timing.tsv",
    params:
        noise=get_noise_spec,
        settings=get_fit_settings,
        split=get_split,
        info=get_dataset_info,
    log:
        f"{LOGS}/fit_model/{FIT_PATTERN}.log",
    benchmark:
        f"{BENCH}/fit_model/{FIT_PATTERN}.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/fit_model.py"
