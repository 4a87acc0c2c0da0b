"""Your own data through the workflow by config alone: `datasets.<name>: {path: FILE, kind: catalogue | counts}`.

Generated user files in several layouts (SigProfiler CSV channels x samples, gzipped samples x channels TSV,
counts features x samples), a real run, and the config errors that name the file, the problem and the fix.
"""
import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nmfcore.io import read_result

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
BRCA21 = REPO / "workflow/resources/data/mutational/BRCA21_SigProfiler_Samples_SBS.txt"


def _catalogue_frame():
    """BRCA21 (bundled) as channels x samples, in a shuffled channel order (joined by label downstream)."""
    df = pd.read_csv(BRCA21, sep="\t", index_col=0)
    return df.sample(frac=1.0, random_state=0)


def _write_user_files(tmp):
    cat = _catalogue_frame()
    cat.to_csv(tmp / "sigprofiler.csv")  # channels x samples, comma-separated
    with gzip.open(tmp / "samples.tsv.gz", "wt") as fh:  # samples x channels, gzipped TSV
        cat.T.to_csv(fh, sep="\t")
    rng = np.random.default_rng(0)
    counts = pd.DataFrame(rng.poisson(rng.gamma(1.0, 5.0, size=(30, 1)) * rng.gamma(1.0, 1.0, size=(1, 25))),
                          index=[f"gene{i}" for i in range(30)], columns=[f"site{j}" for j in range(25)])
    counts.to_csv(tmp / "genes_by_sites.tsv", sep="\t")  # features x samples: transpose: true


def _config(datasets, ranks=(2, 3)):
    return {"data_source": "bundled", "reference": "cosmic_v3.4", "datasets": datasets,
            "noise_models": {"poisson": {"family": "poisson"}}, "structures": {"nmf": {}},
            "fit": {"n_restarts": 2, "pre_iter": 10, "max_iter": 300, "tol": 1e-5},
            "experiments": {"mine": {"datasets": list(datasets), "structures": ["nmf"], "noise_models": ["poisson"],
                                     "ranks": list(ranks), "seeds": [1]}}}


def _snakemake(tmp, config, *args):
    (tmp / "cfg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(tmp),
                           "--configfile", str(tmp / "cfg.yaml"), *args], capture_output=True, text=True, cwd=tmp,
                          timeout=900)


def test_user_files_run_through_the_workflow(tmp_path):
    _write_user_files(tmp_path)
    config = _config({"sp_csv": {"path": "sigprofiler.csv", "kind": "catalogue"},
                      "gz_tsv": {"path": str(tmp_path / "samples.tsv.gz"), "kind": "catalogue"},
                      "genes": {"path": "genes_by_sites.tsv", "kind": "counts", "transpose": True}})
    res = _snakemake(tmp_path, config, "--cores", "1", "results/tables/scores.tsv")
    assert res.returncode == 0, res.stderr[-4000:]
    scores = pd.read_csv(tmp_path / "results/tables/scores.tsv", sep="\t")
    assert sorted(scores["dataset"].unique()) == ["genes", "gz_tsv", "sp_csv"]
    by = scores.set_index(["dataset", "rank"])
    # both catalogue layouts give the same matrix (channels joined by label), so the same fits
    np.testing.assert_allclose(by.loc["sp_csv", "loglik"], by.loc["gz_tsv", "loglik"], rtol=1e-10)
    assert by.loc["sp_csv", "cos_cosmic"].notna().all() and by.loc["genes", "cos_cosmic"].isna().all()
    meta = yaml.safe_load((tmp_path / "results/data/genes/meta.json").read_text())
    kept = 30 - len(meta["all_zero_features_removed"])  # genes without a count cannot be fitted
    assert (by.loc["genes", "n_samples"] == 25).all() and (by.loc["genes", "n_features"] == kept).all()
    assert (scores.loc[scores["dataset"] == "genes", "source"] == "file:genes_by_sites.tsv").all()
    X = pd.read_csv(tmp_path / "results/data/sp_csv/X.tsv", sep="\t", index_col=0)
    assert X.shape == (21, 96)
    assert len(meta["sha256"]) == 64 and meta["shape"] == [25, kept] and meta["path"].endswith("genes_by_sites.tsv")
    # the file's own layout (30 gene rows x 25 site columns), separately from the samples x features read from it
    assert meta["file_shape"] == [30, 25] and meta["file_layout"] == "features x samples"
    assert meta["read_shape"] == [25, 30]
    cmeta = yaml.safe_load((tmp_path / "results/data/sp_csv/meta.json").read_text())
    assert cmeta["file_shape"] == [96, 21] and cmeta["file_layout"] == "channels x samples"
    assert cmeta["read_shape"] == cmeta["shape"] == [21, 96]


def _bad(tmp, kind):
    cat = _catalogue_frame()
    if kind == "missing":
        return {"path": "nowhere.tsv", "kind": "catalogue"}, [r"datasets.x \(path nowhere.tsv\): no such file",
                                                             r"absolute or relative to the working directory"]
    if kind == "95-channels":
        cat.iloc[1:].to_csv(tmp / "c95.csv")
        return {"path": "c95.csv", "kind": "catalogue"}, [r"c95.csv", r"missing channel", r"96 SBS channel labels"]
    if kind == "negative":  # named by the full path, the cell's labels and the fix
        df = cat.T.astype(float)
        df.iloc[2, 3] = -1
        df.to_csv(tmp / "neg.tsv", sep="\t")
        return {"path": "neg.tsv", "kind": "counts"}, [re.escape(str(tmp / "neg.tsv")) + r": negative value -1 at sample "
                                                      + repr(df.index[2]) + ", feature " + re.escape(repr(df.columns[3])),
                                                      r"non-negative data", r"fix or remove such cells"]
    if kind == "catalogue-negative":
        df = cat.astype(float)
        df.iloc[5, 2] = -4
        df.to_csv(tmp / "cneg.csv")
        return {"path": "cneg.csv", "kind": "catalogue"}, [r"cneg.csv: negative count '-4.0' at channel "
                                                          + re.escape(repr(df.index[5])), r"fix or remove them"]
    if kind == "empty":
        (tmp / "empty.tsv").write_text("")
        return {"path": "empty.tsv", "kind": "catalogue"}, [r"empty.tsv: the file is empty",
                                                           r"check that the path names the right file"]
    if kind == "not-numeric":
        df = cat.T.astype(object)
        df.iloc[0, 0] = "high"
        df.to_csv(tmp / "text.tsv", sep="\t")
        return {"path": "text.tsv", "kind": "counts"}, [r"text.tsv", r"non-numeric", r"numbers only"]
    if kind == "both-source-and-path":
        cat.to_csv(tmp / "ok.csv")
        return {"path": "ok.csv", "source": "brca21", "kind": "catalogue"}, [r"exactly one of `source`", r"`path`"]
    if kind == "text-kind":
        cat.to_csv(tmp / "ok.csv")
        return {"path": "ok.csv", "kind": "text"}, [r"kind `catalogue`", r"or `counts`"]
    if kind == "catalogue-transpose":
        cat.to_csv(tmp / "ok.csv")
        return {"path": "ok.csv", "kind": "catalogue", "transpose": True}, [r"oriented by its 96 channel labels",
                                                                            r"remove `transpose`"]
    raise KeyError(kind)


@pytest.mark.parametrize("kind", ["missing", "95-channels", "negative", "catalogue-negative", "empty", "not-numeric",
                                  "both-source-and-path", "text-kind", "catalogue-transpose"])
def test_malformed_user_data_is_a_config_error(tmp_path, kind):
    """The message alone (no traceback into the Snakefiles), the catalogue hint only where the channel labels are
    the problem, no 'fetch it again' for a user's own file."""
    spec, parts = _bad(tmp_path, kind)
    res = _snakemake(tmp_path, _config({"x": spec}), "-n")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    for part in parts:
        assert re.search(part, out), (part, out[-3000:])
    assert 'File "' not in out and "common.smk" not in out, out[-3000:]
    assert ("a catalogue needs the 96 SBS channel labels" in out) == (kind == "95-channels"), out[-3000:]
    assert "fetch it again" not in out
    assert not (tmp_path / "results").exists()


def test_a_catalogue_read_as_counts_gets_a_hint(tmp_path):
    _catalogue_frame().to_csv(tmp_path / "sp.csv")  # channels x samples
    res = _snakemake(tmp_path, _config({"x": {"path": "sp.csv", "kind": "counts"}}), "-n")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert re.search(r"config warning: datasets.x \(path sp.csv\): .*sp.csv: the rows carry the 96 SBS channel labels, "
                     r"so it looks like a channels x samples catalogue.*kind: catalogue.*or transpose: true", out), out[-3000:]
    res = _snakemake(tmp_path, _config({"x": {"path": "sp.csv", "kind": "catalogue"}}), "-n")
    assert "config warning" not in res.stdout + res.stderr


def test_rank_above_the_user_files_shape_is_a_config_error(tmp_path):
    _write_user_files(tmp_path)
    res = _snakemake(tmp_path, _config({"genes": {"path": "genes_by_sites.tsv", "kind": "counts", "transpose": True}},
                                       ranks=(2, 25)), "-n")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "rank 25 on 'genes' is not below min(n_samples, n_features) = 25" in out, out[-3000:]
    assert "has 25 samples x 30 features" in out


def _select(tmp, *extra):
    return subprocess.run([sys.executable, "-m", "nmfcore", "select", *map(str, extra)], capture_output=True,
                          text=True, cwd=tmp, timeout=600)


def test_select_chooses_noise_structure_and_rank(tmp_path):
    """`select` on a SigProfiler CSV (channels x samples): one row per fit, the chosen model's factors in best/,
    the choice and why on stdout, COSMIC matches of the chosen signatures; parallel workers give the same table."""
    _catalogue_frame().to_csv(tmp_path / "sp.csv")
    args = ["sp.csv", "--ranks", "2-3", "--noise", "poisson,nb,gaussian", "--structure", "nmf,convex", "--seeds", "2",
            "--restarts", "1", "--max-iter", "3000", "--tol", "1e-6", "--reference", "cosmic"]
    one = _select(tmp_path, *args, "--jobs", "1", "--out", "one")
    assert one.returncode == 0, one.stderr[-3000:]
    table = pd.read_csv(tmp_path / "one" / "selection.tsv", sep="\t")
    assert len(table) == 3 * 2 * 2 * 2
    assert {"noise", "structure", "rank", "seed", "loglik", "bic", "aic", "converged", "loglik_discrete",
            "bic_discrete"} <= set(table.columns)
    # count data: every family on the discretised (mass) scale, where Poisson and NB keep their own likelihood
    assert table["comparable"].all()
    mass = table["noise"] != "gaussian"
    np.testing.assert_allclose(table.loc[mass, "loglik_discrete"], table.loc[mass, "loglik"], rtol=1e-12)
    chosen = [line for line in one.stdout.splitlines() if line.startswith("chosen:")]
    assert len(chosen) == 1 and "why: lowest discretised BIC" in one.stdout
    ok = table[table["converged"] & table["comparable"]]
    best = ok.loc[ok["bic_discrete"].idxmin()]
    assert f"noise {best['noise']}, " in chosen[0] and f"rank {best['rank']} " in chosen[0]
    assert f"structure {best['structure']}," in chosen[0]
    assert (tmp_path / "one" / "selection.png").stat().st_size > 0
    assert {"W.tsv", "H.tsv", "summary.json"} <= {p.name for p in (tmp_path / "one" / "best").iterdir()}
    assert one.stdout.count("best COSMIC match SBS") == int(best["rank"])
    matches = pd.read_csv(tmp_path / "one" / "cosmic_matches.tsv", sep="\t")  # also written, not only printed
    assert list(matches.columns) == ["signature", "best_cosmic_match", "cosine"] and len(matches) == best["rank"]
    assert matches["best_cosmic_match"].str.startswith("SBS").all() and matches["cosine"].between(0, 1).all()
    for row in matches.itertuples():
        assert f"signature {row.signature[1:]}: best COSMIC match {row.best_cosmic_match}" in one.stdout
    two = _select(tmp_path, *args, "--jobs", "2", "--out", "two")
    assert two.returncode == 0, two.stderr[-3000:]
    t2 = pd.read_csv(tmp_path / "two" / "selection.tsv", sep="\t")
    pd.testing.assert_frame_equal(table.drop(columns="time_s"), t2.drop(columns="time_s"))


def test_select_rejects_a_rank_the_data_cannot_take(tmp_path):
    _catalogue_frame().to_csv(tmp_path / "sp.csv")
    res = _select(tmp_path, "sp.csv", "--ranks", "2-30", "--out", "o")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "rank 30 is not below min(samples, features) = 21" in res.stderr
    assert not (tmp_path / "o").exists()


def test_cli_help_documents_every_option_with_its_default():
    res = subprocess.run([sys.executable, "-m", "nmfcore", "fit", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    for option in ("--rank", "--restarts", "--pre-iter", "--max-iter", "--tol", "--seed", "--check-every",
                   "--nb-rounds", "--nb-tol", "--threads", "--lr", "--ae-init", "--dtype"):
        assert option in text, option
    for default in ("(default: 10)", "(default: 50000)", "(default: 1e-08)", "(default: 0)", "(default: 5)"):
        assert default in text, default


def test_cli_reads_a_sigprofiler_csv_and_says_where_the_files_went(tmp_path):
    _catalogue_frame().to_csv(tmp_path / "sp.csv")  # channels x samples, comma-separated
    res = subprocess.run([sys.executable, "-m", "nmfcore", "fit", "sp.csv", "--rank", "3", "--noise", "gaussian",
                          "--max-iter", "30", "--threads", "1", "--out", "res"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "noise=gaussian" in res.stdout  # the family's name, not tweedie_p0
    assert "to res" in res.stderr and "NOT CONVERGED after 30 iterations" in res.stderr
    assert "raise --max-iter" in res.stderr
    W = pd.read_csv(tmp_path / "res" / "W.tsv", sep="\t", index_col=0)
    assert W.shape == (21, 3)  # 21 samples: the 96 channel rows were recognised and turned round


def test_default_threads_respect_affinity_and_slurm(monkeypatch):
    import os

    from nmfcore.select import default_jobs

    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    n = default_jobs()
    assert n == len(os.sched_getaffinity(0))
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert default_jobs() == 1


def _cli(*args):
    from nmfcore.__main__ import main

    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        return main([str(a) for a in args])


def test_cli_orients_and_reorders_a_catalogue_by_its_channel_labels(tmp_path):
    """fit reads a catalogue with its channel rows shuffled (or turned round) into the canonical SBS96 order: the
    same fit (W, H, log-likelihood) as the original file; earlier the row order of the file changed the fit."""
    original = pd.read_csv(BRCA21, sep="\t", index_col=0)
    original.to_csv(tmp_path / "orig.tsv", sep="\t")
    _catalogue_frame().to_csv(tmp_path / "shuffled.tsv", sep="\t")
    _catalogue_frame().T.to_csv(tmp_path / "shuffled_T.csv")
    fits = {}
    for name in ("orig.tsv", "shuffled.tsv", "shuffled_T.csv"):
        assert _cli("fit", tmp_path / name, "--rank", "3", "--restarts", "2", "--max-iter", "300", "--threads", "1",
                    "--out", tmp_path / ("o_" + name)) == 0
        fits[name] = read_result(tmp_path / ("o_" + name))
    for name in ("shuffled.tsv", "shuffled_T.csv"):
        for key in ("W", "H"):
            pd.testing.assert_frame_equal(fits[name][key], fits["orig.tsv"][key])
        assert fits[name]["summary"]["row"]["loglik"] == fits["orig.tsv"]["summary"]["row"]["loglik"]
    from nmfcore.datasets import SBS96_CHANNELS

    assert list(fits["shuffled.tsv"]["H"].columns) == list(SBS96_CHANNELS)


def test_cli_reference_names_the_file_and_the_missing_channels(tmp_path, capsys):
    """--reference cosmic on a file carrying only some SBS channels (too few to be read as a catalogue)."""
    cat = _catalogue_frame().T.iloc[:, :50]  # 21 samples x 50 channels
    cat.to_csv(tmp_path / "half.tsv", sep="\t")
    assert _cli("select", tmp_path / "half.tsv", "--ranks", "2", "--reference", "cosmic", "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err
    missing = sorted(set(pd.read_csv(BRCA21, sep="\t", index_col=0).index) - set(cat.columns))
    assert re.search(re.escape(str(tmp_path / "half.tsv")) + r": --reference cosmic needs the 96 SBS channel labels", err)
    assert "carry 50 of them, absent: " in err and repr(missing[0]) in err and "drop --reference" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("label, fitted", [("nb_shared", "nb_shared"), ("nb_sample", "nb_sample"),
                                           ("tweedie_p1.5", "tweedie_p1.5"), ("nb", "nb_shared")])
def test_cli_fit_takes_every_noise_label(tmp_path, capsys, label, fitted):
    _catalogue_frame().to_csv(tmp_path / "sp.csv")
    assert _cli("fit", tmp_path / "sp.csv", "--rank", "2", "--noise", label, "--restarts", "1", "--max-iter", "200",
                "--threads", "1", "--out", tmp_path / "o") == 0
    assert f"noise={fitted}\t" in capsys.readouterr().out
    assert read_result(tmp_path / "o")["summary"]["noise"]["label"] == fitted


def test_select_takes_noise_labels_and_writes_them(tmp_path, capsys):
    """select --noise with the labels (nb_shared, nb_sample, tweedie_p1.5) and a family name (nb): the noise column
    of selection.tsv and the chosen line hold the labels."""
    _catalogue_frame().to_csv(tmp_path / "sp.csv")
    assert _cli("select", tmp_path / "sp.csv", "--ranks", "2", "--noise", "nb_sample,tweedie_p1.5,poisson",
                "--seeds", "1", "--restarts", "1", "--max-iter", "3000", "--tol", "1e-5", "--jobs", "1",
                "--out", tmp_path / "o") == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "o" / "selection.tsv", sep="\t")
    assert list(table["noise"]) == ["nb_sample", "tweedie_p1.5", "poisson"]
    best = table.loc[table["bic_discrete"].idxmin(), "noise"]
    assert re.search(rf"^chosen: noise {best}, structure nmf, rank 2", out, re.M), out
    assert _cli("select", tmp_path / "sp.csv", "--ranks", "2", "--noise", "nb,nb_shared", "--out", tmp_path / "p") == 2
    assert "--noise lists nb and nb_shared, which are the same model" in capsys.readouterr().err


def test_select_progress_estimates_from_each_models_cost():
    """The time left weighs each noise x structure by its own seconds per unit of rank (the tester's run said
    ~63 s left at 47 s and ran 390 s: cheap Poisson fits first, Tweedie profiles last); every model runs once
    early, and until then the estimate says it is a lower bound."""
    from nmfcore.select import Progress, run_order

    tasks = [(None, n, "nmf", k, 0, None) for n in ("poisson", "tweedie") for k in (2, 3, 4)]
    order = run_order(tasks)
    assert {t[1] for t in order[:2]} == {"poisson", "tweedie"} and [t[3] for t in order] == [2, 2, 3, 3, 4, 4]
    progress = Progress(tasks)
    progress.done(order[0], 1.0)  # poisson k=2: 0.5 s per rank unit
    assert "at least ~4 s left (not yet timed: tweedie/nmf)" in progress.line()
    progress.done(order[1], 20.0)  # tweedie k=2: 10 s per rank unit
    seconds, untimed = progress.left()
    assert untimed == [] and seconds == 0.5 * (3 + 4) + 10.0 * (3 + 4)
    assert "2/6 fits" in progress.line() and "~74 s left" in progress.line()
    assert Progress(tasks, jobs=2).left()[0] == 0


@pytest.mark.parametrize("command", ["fit", "select"])
def test_cli_help_shows_one_real_default_per_option(command):
    """No '(default: None)', no option with two defaults, none for the required --out; select --structure says it
    takes a comma-separated list; --restarts has the same default in fit and select."""
    res = subprocess.run([sys.executable, "-m", "nmfcore", command, "--help"], capture_output=True, text=True,
                         timeout=120)
    text = " ".join(res.stdout.split())
    assert res.returncode == 0 and "(default: None)" not in text and "(default: False)" not in text
    options = re.split(r" (?=--[a-z])", text.split("options:")[1])
    twice = [o for o in options if len(re.findall(r"\(?default[: ]", o)) > 1]
    assert not twice, twice
    out = next(o for o in options if o.startswith("--out OUT"))
    assert "default" not in out
    assert "(default: 3, for fit and select alike)" in text
    if command == "select":
        assert re.search(r"--structure STRUCTURE comma-separated list of model structures", text), text
    for option, default in (("--lr", "default: 1e-3"), ("--ae-constraint", "default: abs"),
                            ("--threads", "default: the cores")):
        assert default in next(o for o in options if o.startswith(option)), option


@pytest.mark.parametrize("rank, ranks, bound, expected", [
    (6, [2, 3, 4, 5, 6], 21, "the chosen rank 6 is the highest rank tried: a higher rank may fit better; extend --ranks"),
    (2, [2, 3, 4], 21, "the chosen rank 2 is the lowest rank tried: a lower rank may fit better; extend --ranks"),
    (4, [2, 3, 4, 5], 21, None), (1, [1, 2], 21, None), (20, [18, 19, 20], 21, None), (3, [3], 21, None)])
def test_select_warns_when_the_chosen_rank_is_at_the_edge_of_the_grid(capsys, rank, ranks, bound, expected):
    from nmfcore.__main__ import _warn_at_the_edge

    _warn_at_the_edge(rank, ranks, bound)
    err = capsys.readouterr().err
    assert (expected in err) if expected else err == ""


def test_selection_plot_has_integer_rank_ticks_and_titles_that_do_not_overlap():
    from nmfcore.__main__ import _selection_figure

    rows = [{"noise": n, "structure": "nmf", "rank": k, "seed": 0, "converged": True, "bic_discrete": 100.0 - k,
             "loglik_discrete": -50.0 + k} for n in ("poisson", "nb_shared") for k in (2, 3, 4)]
    fig = _selection_figure(pd.DataFrame(rows), integer=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes] + [fig._suptitle.get_window_extent(renderer)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert ax.title.get_window_extent(renderer).width < ax.get_window_extent(renderer).width


def test_progress_of_a_long_fit_is_one_line_per_tick_in_a_log_file():
    """Into a file or pipe (a SLURM log) the elapsed-time ticker writes whole lines, no carriage returns."""
    import io
    import time

    from nmfcore.__main__ import _Ticker

    log = io.StringIO()
    with _Ticker("fitting nmf/poisson rank 6", stream=log, first=0.01):
        time.sleep(0.1)
    assert log.getvalue() == "fitting nmf/poisson rank 6: 0 s\n"

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    tty = Terminal()
    with _Ticker("fitting", stream=tty, first=0.01, every=0.02):
        time.sleep(0.1)
    assert tty.getvalue().startswith("\rfitting: 0 s ") and tty.getvalue().endswith("\n")
