# Fit jobs: one rule per block of the fit grid (common.smk _plan_fit_jobs): every fit of one data set (or of
# all replicates of a simulation scenario) and split block (`all`, or cv.splits_per_job cv splits) that
# shares the values of fit_jobs.one_per. A job reads each of its data sets once, fits its fits (same-shaped
# ones as one batched nmfcore.fit_many), scores each fit (one row of score.tsv carrying every parameter) and
# writes each its own folder of files.
# What differs between runs of the same fit (run time, host, SLURM job) goes to timing.tsv, never to
# score.tsv, so that the scores are byte-identical for the same config and seeds, however fits are grouped.
# On a cluster every fit job is in group `fits`; the profile's group-components packs several per submission.

for _label, _rows in FIT_JOBS.items():
    _data = fit_job_data(_rows)

    rule:
        name:
            fit_job_rule_name(_label)
        input:
            fit_job_inputs(_data),
        output:
            fit_job_outputs(_rows),
        params:
            fits=fit_job_members(_rows),
            data=_data,
        log:
            f"{LOGS}/fit/{_label}.log",
        benchmark:
            f"{BENCH}/fit/{_label}.tsv"
        priority: fit_job_priority(_rows)
        group:
            "fits"
        resources:
            # SLURM -t in minutes (fit_jobs.minutes_per_fit per fit, at least 15) and --mem (fit_jobs.mem_mb);
            # both grow with each retry
            runtime=lambda wc, attempt, _n=len(_rows): attempt * max(15, FIT_JOB_MINUTES * _n),
            mem_mb=lambda wc, attempt: FIT_JOB_MEM_MB * attempt,
        conda:
            "../../envs/nmfcore.yaml"
        script:
            "../scripts/fit_model.py"
