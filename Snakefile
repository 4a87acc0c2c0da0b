# NMF noise-model benchmark: NMF, convex NMF and non-negative linear autoencoders fitted under
# Gaussian, Poisson, Gamma, Tweedie and negative binomial noise on mutational catalogues, word
# counts and simulations. Run `snakemake -n` to see the jobs; config/README.md explains the config.
#
# Result paths: results/data/<dataset>/, results/fits/<dataset>/<split>/<structure>/<noise>/k<rank>/s<seed>/,
# results/tables/, results/figures/, with logs and benchmarks under results/logs/ and results/benchmarks/.

from snakemake.utils import min_version

min_version("9.0")


# A config given with --configfile REPLACES the default one (Snakemake would otherwise merge the two,
# so the default experiments would run next to, or clash with, those of config/paper.yaml).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


##### load rules #####


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/paper2.smk"


##### target rules #####


rule all:
    input:
        get_final_output(),
    default_target: True


onsuccess:
    # the end-of-run summary: fits that did not converge or sit at a degenerate optimum (never silent)
    import os

    import pandas as pd

    if os.path.exists(f"{TABLES_DIR}/scores.tsv"):
        _s = pd.read_csv(f"{TABLES_DIR}/scores.tsv", sep="\t")
        _bad = _s[~_s["converged"].astype(str).str.lower().eq("true")]
        _deg = _s[_s["degenerate"].astype(str).str.lower().eq("true")] if "degenerate" in _s else _s.iloc[:0]
        print(f"fits: {len(_s)}; did not converge: {len(_bad)}; degenerate: {len(_deg)} "
              f"(listed in results/results.md, columns converged / degenerate of {TABLES_DIR}/scores.tsv)")
