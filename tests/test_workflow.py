"""End-to-end checks of the Snakemake workflow (lint, dry runs, a tiny real run, reruns, report, validation).

Every run happens in a temporary directory with `-s <repo>/Snakefile --directory <tmp>`, so bundled data
must be found relative to the workflow, never the working directory.
"""
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
TEST_CONFIG = REPO / ".test" / "config.yaml"
TABLES = ["scores.tsv", "timings.tsv", "consistency.tsv", "tweedie_profile.tsv", "nb_dispersion.tsv",
          "overhead.tsv", "config_used.yaml"]
PARAMETER_COLUMNS = ["dataset", "data_kind", "split", "structure", "noise", "noise_fitted", "rank", "seed",
                     "n_restarts", "max_iter", "tol", "dtype", "loglik", "bic", "aic", "n_params", "converged",
                     "train_mse", "test_mse", "test_divergence", "test_loglik", "cos_truth", "cos_cosmic",
                     "cosmic_matches", "ari", "accuracy", "noise_power", "noise_phi", "noise_alpha"]
# timings.tsv: the join key of scores.tsv, then everything that differs between runs of the same fit
FIT_KEY = ["dataset", "split", "structure", "noise", "rank", "seed"]
TIMING_COLUMNS = ["time_s", "iterate_s", "slurm_job_id", "host", "bench_s", "bench_max_rss"]


def snakemake(workdir, *args, configfile=TEST_CONFIG, check=True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
           "--configfile", str(configfile), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def job_counts(output):
    """{rule: count} from the 'Job stats' block of a (dry) run."""
    counts, inside = {}, False
    for line in output.splitlines():
        if line.startswith("Job stats"):
            inside, counts = True, {}
            continue
        if inside:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] == "total":
                    inside = False
                else:
                    counts[parts[0]] = int(parts[1])
    return counts


def fit_jobs(counts):
    """{rule: count} of the fit rules (one rule per block of the fit grid, named fit_<block>)."""
    return {rule: n for rule, n in counts.items() if rule.startswith("fit_")}


def write_config(path, edit):
    cfg = yaml.safe_load(TEST_CONFIG.read_text())
    edit(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def test_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wf")
    proc = snakemake(workdir, "--cores", "2")
    return workdir, proc


def test_lint(tmp_path):
    proc = snakemake(tmp_path, "--lint", configfile=REPO / "config" / "config.yaml", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("config", ["config/config.yaml", "config/paper.yaml"])
def test_dry_run(tmp_path, config):
    proc = snakemake(tmp_path, "-n", "--quiet", "rules", configfile=REPO / config)
    counts = job_counts(proc.stdout + proc.stderr)
    assert fit_jobs(counts) and counts.get("aggregate_scores") == 1


def test_configfile_replaces_the_default_config(tmp_path):
    """Run from the repository root, where config/config.yaml exists: --configfile must replace it,
    not merge with it (Snakemake's default), so the test config plans exactly its own jobs."""
    # --forceall: count every job of the config, whatever results/ the checkout already holds
    from_root = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--quiet", "rules",
                                "--configfile", str(TEST_CONFIG)], capture_output=True, text=True, cwd=REPO)
    elsewhere = snakemake(tmp_path, "-n", "--forceall", "--quiet", "rules")
    assert from_root.returncode == 0, from_root.stderr[-3000:]
    assert job_counts(from_root.stdout + from_root.stderr) == job_counts(elsewhere.stdout + elsewhere.stderr)


def test_outputs(test_run):
    workdir, _ = test_run
    for name in TABLES:
        assert (workdir / "results" / "tables" / name).is_file(), name
    for sim in ("X.tsv", "truth_H.tsv", "truth_W.tsv", "meta.json"):
        assert (workdir / "results" / "data" / "sim_nb_sample_r1" / sim).is_file()
    assert (workdir / "results" / "data" / "r8_tiny" / "labels.tsv").is_file()
    fit = workdir / "results" / "fits" / "brca21" / "cv0" / "convex" / "gaussian" / "k2" / "s1"
    for name in ("W.tsv", "H.tsv", "G.tsv", "trace.tsv", "summary.json", "score.tsv", "timing.tsv"):
        assert (fit / name).is_file(), name
    # one fit job per data set x split block x structure x noise (fit_jobs.one_per's default): the cv splits
    # of brca21 x convex x gaussian are one job with one benchmark and one log
    jobs = sorted(p.name for p in (workdir / "results" / "benchmarks" / "fit").iterdir())
    assert "brca21_cv0-1_convex_gaussian.tsv" in jobs and "brca21_all_nmf_tweedie.tsv" in jobs
    assert len(jobs) == 8, jobs  # brca21 all x 2 noises, cv x 3 structures, the simulation x 2, the text set
    # the simulation's two replicates share their jobs (one_per has no `replicate`)
    assert sum(j.startswith("sim_nb_sample_all_") for j in jobs) == 2, jobs
    assert (workdir / "results" / "logs" / "fit" / "brca21_cv0-1_convex_gaussian.log").is_file()


def test_tables_are_sane(test_run):
    workdir, _ = test_run
    scores = pd.read_csv(workdir / "results" / "tables" / "scores.tsv", sep="\t")
    cfg = yaml.safe_load(TEST_CONFIG.read_text())
    assert len(scores) == 13
    missing = [c for c in PARAMETER_COLUMNS if c not in scores.columns]
    assert not missing, missing
    volatile = [c for c in TIMING_COLUMNS if c in scores.columns]
    assert not volatile, f"run-dependent columns in scores.tsv: {volatile}"
    # timings.tsv: one row per fit, the same fits in the same order, joined on FIT_KEY
    timings = pd.read_csv(workdir / "results" / "tables" / "timings.tsv", sep="\t", dtype={"slurm_job_id": str})
    assert list(timings.columns) == FIT_KEY + TIMING_COLUMNS
    pd.testing.assert_frame_equal(timings[FIT_KEY], scores[FIT_KEY])
    assert (timings["time_s"] > 0).all() and (timings["iterate_s"] >= 0).all()
    assert (timings["bench_s"] >= timings["time_s"] - 1e-3).all()
    # peak RSS where Snakemake sampled the job; a job shorter than its sampling interval has none (NaN, never 0)
    rss = timings["bench_max_rss"]
    assert ((rss > 0) | rss.isna()).all() and (rss > 0).any()
    assert (timings["host"] == socket.gethostname()).all()
    assert (timings["slurm_job_id"].fillna("") == os.environ.get("SLURM_JOB_ID", "")).all()
    assert len(scores.merge(timings, on=FIT_KEY, validate="one_to_one")) == len(scores)
    assert scores["loglik"].map(math.isfinite).all()
    assert scores["bic"].map(math.isfinite).all()
    assert set(scores["converged"].unique()) <= {True, False}
    for col in ("cos_truth", "cos_cosmic", "accuracy"):
        values = scores[col].dropna()
        assert len(values) and values.between(0, 1 + 1e-9).all(), col
    assert scores.loc[scores["dataset"] == "sim_nb_sample_r1", "cos_truth"].notna().all()
    assert scores.loc[scores["split"] != "all", "test_mse"].notna().all()
    assert scores.loc[scores["split"] == "all", "test_mse"].isna().all()
    assert set(scores["structure"]) == set(cfg["structures"])
    assert set(scores["noise"]) <= set(cfg["noise_models"])
    assert scores.equals(scores.sort_values(["dataset"], kind="mergesort").reset_index(drop=True))
    consistency = pd.read_csv(workdir / "results" / "tables" / "consistency.tsv", sep="\t")
    assert len(consistency) == 3 and consistency["acs"].between(0, 1 + 1e-9).all()  # 3 structures x 1 pair
    profile = pd.read_csv(workdir / "results" / "tables" / "tweedie_profile.tsv", sep="\t")
    assert sorted(profile["power"].unique()) == [1.3, 1.7]
    dispersion = pd.read_csv(workdir / "results" / "tables" / "nb_dispersion.tsv", sep="\t")
    assert (dispersion["alpha"] > 0).all() and "(shared)" in set(dispersion["sample"])
    overhead = pd.read_csv(workdir / "results" / "tables" / "overhead.tsv", sep="\t")
    assert overhead.loc[0, "wall_s"] > 0 and overhead.loc[0, "fit_s"] > 0


def test_rerun_does_nothing(test_run):
    workdir, _ = test_run
    proc = snakemake(workdir, "--cores", "2")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_tables_are_deterministic_however_fits_are_grouped(test_run, tmp_path):
    """Re-running every fit with one fit per job (instead of the blocks of the first run) gives byte-identical
    scores.tsv (every column) and result tables; timings.tsv lists the same fits, with new times. (In a copy
    of the run, so that the other tests keep theirs.)"""
    import shutil

    workdir = tmp_path / "copy"
    shutil.copytree(test_run[0], workdir, symlinks=True)
    tables = workdir / "results" / "tables"
    deterministic = ("scores.tsv", "consistency.tsv", "tweedie_profile.tsv", "nb_dispersion.tsv")
    before = {n: (tables / n).read_bytes() for n in deterministic}
    timings_before = pd.read_csv(tables / "timings.tsv", sep="\t")
    fit_scores = sorted((workdir / "results" / "fits").rglob("score.tsv"))
    mtimes = {p: p.stat().st_mtime_ns for p in fit_scores}

    def one_fit_per_job(cfg):
        cfg["fit_jobs"] = {"one_per": ["dataset", "replicate", "structure", "noise", "rank", "seed"]}
        cfg["cv"]["splits_per_job"] = 1

    single = write_config(tmp_path / "single.yaml", one_fit_per_job)
    proc = snakemake(workdir, "--cores", "2", "--forceall", "--until", "aggregate_scores", configfile=single)
    assert len(fit_jobs(job_counts(proc.stdout + proc.stderr))) == len(fit_scores)  # really one fit per job
    # the fits really ran again (otherwise byte identity would prove nothing)
    assert all(p.stat().st_mtime_ns != t for p, t in mtimes.items())
    for name, content in before.items():
        assert (tables / name).read_bytes() == content, name
    timings_after = pd.read_csv(tables / "timings.tsv", sep="\t")
    # same fits in the same order; the times themselves are measurements and are not compared
    pd.testing.assert_frame_equal(timings_before[FIT_KEY], timings_after[FIT_KEY])


def test_changing_a_noise_parameter_reruns_only_dependent_fits(test_run, tmp_path):
    workdir, _ = test_run

    def edit(cfg):
        cfg["noise_models"]["tweedie"]["powers"] = [1.3, 1.6]

    changed = write_config(tmp_path / "changed.yaml", edit)
    proc = snakemake(workdir, "-n", configfile=changed)
    counts = job_counts(proc.stdout + proc.stderr)
    assert fit_jobs(counts) == {"fit_brca21_all_nmf_tweedie": 1}  # only the job holding brca21/all/nmf/tweedie/k2/s1
    assert "results/fits/brca21/all/nmf/tweedie/k2/s1" in proc.stdout + proc.stderr
    assert not any(rule.startswith("simulate_") for rule in counts) and "prepare_dataset" not in counts


def test_report(test_run):
    workdir, _ = test_run
    snakemake(workdir, "--report", "report.html")
    assert (workdir / "report.html").stat().st_size > 10_000
    html = (workdir / "report.html").read_text(errors="replace")
    assert "available core time" in html  # the captions' text is searchable in the file
    # no docutils error (a category named like a caption target gave 'Duplicate explicit target name')
    assert "System Message" not in html and "Duplicate explicit target" not in html


@pytest.mark.parametrize("edit, message", [
    (lambda cfg: cfg.update(experimentz=cfg.pop("experiments")), "experimentz"),
    (lambda cfg: cfg["noise_models"].update(weird={"family": "lognormal"}), "lognormal"),
    (lambda cfg: cfg["noise_models"].update(bad={"family": "poisson", "powers": [1.5]}), "do not apply"),
    (lambda cfg: cfg["experiments"]["rank"].update(noise_models=["nb_sahred"]), "nb_sahred"),
])
def test_invalid_config_fails_before_any_job(tmp_path, edit, message):
    bad = write_config(tmp_path / "bad.yaml", edit)
    proc = snakemake(tmp_path / "wd", "--cores", "1", configfile=bad, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "wd" / "results").exists()


def test_only_the_replicates_of_one_simulation_scenario_share_a_fit_job(tmp_path):
    """The replicates of a `simulations` scenario share their fit jobs (one_per without `replicate`); simulated
    data sets of the registry (SigMoS) are data sets of their own, each with its own jobs."""
    def edit(cfg):
        cfg["datasets"].update(sig_p={"source": "sigmos_poisson", "kind": "simulated"},
                               sig_nb={"source": "sigmos_nb10", "kind": "simulated"})
        cfg["experiments"] = {"sims": {"datasets": ["sig_p", "sig_nb", "nb_sample"], "structures": ["nmf"],
                                       "noise_models": ["poisson"], "ranks": [2]}}

    proc = snakemake(tmp_path, "-n", configfile=write_config(tmp_path / "sims.yaml", edit))
    assert set(fit_jobs(job_counts(proc.stdout + proc.stderr))) == {
        "fit_sig_p_all_nmf_poisson", "fit_sig_nb_all_nmf_poisson", "fit_sim_nb_sample_all_nmf_poisson"}


def test_paper2_report_from_a_small_protocol_run(tmp_path):
    """config/paper2.yaml cut to one cohort and three splits with loose stopping: the paper-2 report is written,
    recomputes every split's scored train and test MSE from per-patient errors (it fails otherwise), says
    for each published mean whether other random splits could give it with our fits, and weights the splits
    to the published runs' count of test sets holding the cohort's top patient."""
    import re

    cfg = yaml.safe_load((REPO / "config" / "paper2.yaml").read_text())
    cfg["datasets"] = {"gel_prostate": cfg["datasets"]["gel_prostate"]}
    cfg["experiments"] = {"paper2_prostate": cfg["experiments"]["paper2_prostate"]}
    cfg["fit"].update(tol=1e-5, check_every=10, max_iter=2000)
    cfg["structures"]["autoencoder"]["lr"] = 1e-2
    cfg["cv"].update(n_splits=3, splits_per_job=3)
    path = tmp_path / "paper2_small.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake(tmp_path / "wd", "--cores", "2", configfile=path)
    doc = (tmp_path / "wd" / "results" / "paper2" / "results_paper2.md").read_text()
    section = doc.split("### Which patients the random splits hold out")[1].split("\n### ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| Prostate")]
    assert len(rows) == 6, section  # train and test x three methods
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-1] in ("yes", "**no**") and re.fullmatch(r"\d+\.\d%", cells[6]), row
    assert "3-split means, 95 %" in section
    top = doc.split("### One patient decides each cohort's held-out mean")[1].split("\n## ")[0]
    assert "| Prostate | GEL-2124045-11 | 112,196 (9%) | 1 of 3 " in top  # cv2's test set holds it
    assert "| 3 of 30 (P 0.12) |" in top  # the published runs' count, from the released signatures
    weighted = [line for line in top.splitlines() if line.startswith("| Prostate | ")][1:]
    assert len(weighted) == 6 and all(re.search(r"\| [+-]\d+\.\d% \|", line) for line in weighted), top
    assert re.search(r"Of the \d+ MSE means more than 10 % from the published ones, \d+ are within 10 % once", doc)
    scores = pd.read_csv(tmp_path / "wd" / "results" / "paper2" / "scores.tsv", sep="\t")
    assert len(scores) == 9 and set(scores["split"]) == {"cv0", "cv1", "cv2"}
