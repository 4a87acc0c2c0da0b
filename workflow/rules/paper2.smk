# Paper 2's report (config key `paper2_report: true`): everything Egendal et al. report, computed from
# the cross-validation fits, beside the published values. Reads only aggregated tables, the fits' W and H
# and the cohorts' data (per-patient errors).


localrules:
    paper2_report,


rule paper2_report:
    input:
        scores=f"{TABLES_DIR}/scores.tsv",
        timings=f"{TABLES_DIR}/timings.tsv",
        consistency=f"{TABLES_DIR}/consistency.tsv",
        overhead=f"{TABLES_DIR}/overhead.tsv",
        reference=get_cosmic_reference(),
        published=workflow.source_path("../resources/published.yaml"),
        released=workflow.source_path("../resources/paper2_released_heldout.tsv"),
        H=get_cv_fit_paths("H.tsv"),
        W=get_cv_fit_paths("W.tsv"),
        data=get_cv_data_paths(),
    output:
        doc="results/paper2/results_paper2.md",
        scores="results/paper2/scores.tsv",
        figures=directory("results/paper2/figures"),
    params:
        configfiles=[os.path.relpath(str(p)) for p in workflow.configfiles],
    log:
        f"{LOGS}/paper2_report/paper2_report.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/make_paper2_report.py"
