# fit_model: one job per data set x structure x noise model x rank x seed on the `all` split; fit_cv: one
# job fits every cross-validation split of a data set x structure x noise model x rank x seed as one
# batched computation (nmfcore.fit_many). Both run fit_model.py, which scores each fit in the same job
# (one row of score.tsv carrying every parameter) and writes the same files per fit.
# What differs between runs of the same fit (run time, host, SLURM job) goes to timing.tsv, never to
# score.tsv, so that the scores are byte-identical for the same config and seeds.


rule fit_model:
    input:
        unpack(get_fit_inputs),
    wildcard_constraints:
        split="all",
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
        splits=lambda wc: [get_split(wc)],
        info=get_dataset_info,
    log:
        f"{LOGS}/fit_model/{FIT_PATTERN}.log",
    benchmark:
        f"{BENCH}/fit_model/{FIT_PATTERN}.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/fit_model.py"


# one rule per block of splits (cv.splits_per_job): fit_cv0_29 for 30 splits in one job, or e.g.
# fit_cv0_9, fit_cv10_19, fit_cv20_29 (blocks let two cores or a cluster share a long protocol)
for _block in cv_blocks():

    rule:
        name:
            f"fit_cv{cv_block_label(_block)[2:].replace('-', '_')}"
        input:
            unpack(get_fit_inputs),
        output:
            cv_outputs(_block),
        params:
            noise=get_noise_spec,
            settings=get_fit_settings,
            splits=[split_settings(s) for s in _block],
            info=get_dataset_info,
        log:
            f"{LOGS}/fit_cv/{CV_PATTERN.replace('{block}', cv_block_label(_block))}.log",
        benchmark:
            f"{BENCH}/fit_cv/{CV_PATTERN.replace('{block}', cv_block_label(_block))}.tsv"
        resources:
            # a block of long fits (paper 2: minutes per split); SLURM -t in minutes, grows with each retry
            runtime=lambda wc, attempt, _n=len(_block): 30 * _n * attempt,
            mem_mb=lambda wc, attempt: 2000 * attempt,
        conda:
            "../../envs/nmfcore.yaml"
        script:
            "../scripts/fit_model.py"
