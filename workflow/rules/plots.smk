# Figures and the generated results document.
#
# Every figure is one rule `plot_<name>` reading only the aggregated tables in results/tables/
# (plus the fit directories for the signature plots), writing a PNG and a PDF that go into the
# Snakemake report. `get_figure_targets()` lists the figures the active config can produce; the workflow's
# `rule all` requests it. Figures whose data the config does not generate are left out there.


include: "plots_helpers.smk"


# Figures and the results document are light and read only the aggregated tables: run them in the
# submitting Snakemake process instead of as cluster jobs.
localrules:
    plot_rank_selection,
    plot_tweedie_profile,
    plot_nb_dispersion,
    plot_misspecification,
    plot_text_recovery,
    plot_paper2,
    plot_signatures,
    plot_overhead,
    make_results_doc,


rule plot_rank_selection:
    input:
        scores=f"{TABLES}/scores.tsv",
    output:
        png=report(figure_path("rank_selection"), caption="../report/rank_selection.rst",
                   category="Model choice", subcategory="Rank"),
        pdf=figure_path("rank_selection", "pdf"),
    log:
        "results/logs/plots/rank_selection.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_rank_selection.py"


rule plot_tweedie_profile:
    input:
        profile=f"{TABLES}/tweedie_profile.tsv",
        scores=f"{TABLES}/scores.tsv",
    output:
        png=report(figure_path("tweedie_profile"), caption="../report/tweedie_profile.rst",
                   category="Model choice", subcategory="Noise parameters"),
        pdf=figure_path("tweedie_profile", "pdf"),
    params:
        true_power=get_simulated_powers(),
    log:
        "results/logs/plots/tweedie_profile.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_tweedie_profile.py"


rule plot_nb_dispersion:
    input:
        dispersion=f"{TABLES}/nb_dispersion.tsv",
        scores=f"{TABLES}/scores.tsv",
    output:
        png=report(figure_path("nb_dispersion"), caption="../report/nb_dispersion.rst",
                   category="Model choice", subcategory="Noise parameters"),
        pdf=figure_path("nb_dispersion", "pdf"),
    log:
        "results/logs/plots/nb_dispersion.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_nb_dispersion.py"


rule plot_misspecification:
    input:
        scores=f"{TABLES}/scores.tsv",
    output:
        png=report(figure_path("misspecification"), caption="../report/misspecification.rst",
                   category="Simulations", subcategory="Misspecification"),
        pdf=figure_path("misspecification", "pdf"),
    log:
        "results/logs/plots/misspecification.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_misspecification.py"


rule plot_text_recovery:
    input:
        scores=f"{TABLES}/scores.tsv",
        timings=f"{TABLES}/timings.tsv",
        labels=[f"{DATA}/{name}/labels.tsv" for name in DATASETS.index[DATASETS["kind"] == "text"]],
    output:
        png=report(figure_path("text_recovery"), caption="../report/text_recovery.rst",
                   category="Word counts", subcategory="Class recovery"),
        pdf=figure_path("text_recovery", "pdf"),
    log:
        "results/logs/plots/text_recovery.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_text_recovery.py"


rule plot_paper2:
    input:
        scores=f"{TABLES}/scores.tsv",
        consistency=f"{TABLES}/consistency.tsv",
        published=workflow.source_path("../resources/published.yaml"),
    output:
        png=report(figure_path("paper2"), caption="../report/paper2.rst",
                   category="Paper 2 replication", subcategory="Errors and consistency"),
        pdf=figure_path("paper2", "pdf"),
    log:
        "results/logs/plots/paper2.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_paper2.py"


rule plot_signatures:
    input:
        scores=f"{TABLES}/scores.tsv",
        reference=get_reference_signatures,
    output:
        png=report("results/figures/signatures/{dataset}/{choice}.png", caption="../report/signatures.rst",
                   category="Signatures", subcategory="{dataset}",
                   labels={"data set": "{dataset}", "fit": "{choice}"}),
        pdf="results/figures/signatures/{dataset}/{choice}.pdf",
    wildcard_constraints:
        dataset="[a-z0-9_]+",
        choice="best_bic|[a-z0-9_]+-[a-z0-9_]+-k[0-9]+",
    params:
        fits_root="results/fits",
        selection=get_signature_selection,
    log:
        "results/logs/plots/signatures/{dataset}/{choice}.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_signatures.py"


rule plot_overhead:
    input:
        overhead=f"{TABLES}/overhead.tsv",
    output:
        png=report(figure_path("overhead"), caption="../report/overhead.rst",
                   category="Run cost", subcategory="Overhead"),
        pdf=figure_path("overhead", "pdf"),
    log:
        "results/logs/plots/overhead.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/plot_overhead.py"


rule make_results_doc:
    input:
        scores=f"{TABLES}/scores.tsv",
        timings=f"{TABLES}/timings.tsv",
        consistency=f"{TABLES}/consistency.tsv",
        tweedie_profile=f"{TABLES}/tweedie_profile.tsv",
        nb_dispersion=f"{TABLES}/nb_dispersion.tsv",
        overhead=f"{TABLES}/overhead.tsv",
        published=workflow.source_path("../resources/published.yaml"),
        figures=get_figures_for_doc,
    output:
        md="results/results.md",
    params:
        config=config,
        configfiles=get_configfiles(),
    log:
        "results/logs/plots/make_results_doc.log",
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/make_results_doc.py"
