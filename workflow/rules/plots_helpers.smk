# Python helpers of the figure rules in plots.smk (kept apart from the rules, as the linter asks):
# which figures the active config can produce and which fits the signature figures show.
# Included by plots.smk; reads `config` only here, never in the plot scripts.

import os

TABLES = "results/tables"
FIGURES = "results/figures"


def _plots_config():
    return config.get("plots") or {}


def _dataset_kinds():
    """{data set or simulation scenario name: kind} (catalogue | text | simulated) from the config."""
    kinds = {name: spec.get("kind", "catalogue") for name, spec in (config.get("datasets") or {}).items()}
    for scenario in config.get("simulations") or {}:
        kinds.setdefault(scenario, "simulated")
    return kinds


def _experiments():
    return list((config.get("experiments") or {}).values())


def _family(noise):
    spec = (config.get("noise_models") or {}).get(noise) or {}
    return spec.get("family", noise)


def _fitted(kinds=None, split=None):
    """Sets of (dataset, structure, noise, n_ranks) over the experiments, filtered by data kind and split."""
    dkinds = _dataset_kinds()
    out = set()
    for exp in _experiments():
        if split is not None and split not in (exp.get("splits") or ["all"]):
            continue
        n_ranks = len(exp.get("ranks") or []) + len(exp.get("rank_offsets") or [])
        for d in exp["datasets"]:
            if kinds is not None and dkinds.get(d, "catalogue") not in kinds:
                continue
            for s in exp["structures"]:
                for n in exp["noise_models"]:
                    out.add((d, s, n, n_ranks))
    return out


def get_simulated_powers():
    """{simulated data set: the variance power of the noise it was drawn from} where that noise is a Tweedie
    family member (Gaussian 0, Poisson 1, Tweedie p, Gamma 2); negative binomial noise has none."""
    powers = {"gaussian": 0.0, "poisson": 1.0, "gamma": 2.0}
    out = {}
    for name, info in DATASETS.iterrows():
        if info["has_truth"]:
            noise = config["simulations"][info["scenario"]]["noise"]
            p = noise.get("power") if noise["family"] == "tweedie" else powers.get(noise["family"])
            if p is not None:
                out[name] = float(p)
    return out


def figure_path(name, ext="png"):
    return f"{FIGURES}/{name}.{ext}"


def _check_signature_selections():
    """Every plots.signatures entry names a fit of the grid (all samples of a catalogue), or the config is refused."""
    fits = FITS_TABLE[FITS_TABLE["split"] == "all"]
    for i, sel in enumerate(_plots_config().get("signatures", []) or []):
        where = f"plots.signatures[{i}] ({', '.join(f'{k}: {v}' for k, v in sel.items())})"
        if sel["dataset"] not in DATASETS.index or DATASETS.loc[sel["dataset"], "kind"] != "catalogue":
            _fail(f"{where}: signature figures need a catalogue data set (96 SBS channels); known catalogues: "
                  f"{sorted(DATASETS.index[DATASETS['kind'] == 'catalogue'])}")
        match = fits[(fits["dataset"] == sel["dataset"]) & (fits["structure"] == sel["structure"])
                     & (fits["noise"] == sel["noise"]) & (fits["rank"] == int(sel["rank"]))]
        if sel.get("seed") is not None:
            match = match[match["seed"] == int(sel["seed"])]
        if match.empty:
            _fail(f"{where}: no experiment fits this model to all samples of {sel['dataset']!r}; add it to an "
                  "experiment (splits: [all]) or correct the entry")


_check_signature_selections()


def _signature_choices():
    """[(dataset, choice)]: 'best_bic' for every catalogue fitted on all samples, plus config plots.signatures."""
    datasets = sorted({d for d, *_ in _fitted(kinds={"catalogue"}, split="all")})
    out = [(d, "best_bic") for d in datasets]
    for sel in _plots_config().get("signatures", []) or []:
        out.append((sel["dataset"], f"{sel['structure']}-{sel['noise']}-k{sel['rank']}"))
    return out


def get_signature_selection(wildcards):
    """None for the lowest-BIC fit, else {structure, noise, rank(, seed)} parsed from the choice wildcard."""
    if wildcards.choice == "best_bic":
        return None
    structure, noise, rank = wildcards.choice.rsplit("-", 2)
    sel = {"structure": structure, "noise": noise, "rank": int(rank.lstrip("k"))}
    for entry in _plots_config().get("signatures", []) or []:
        if entry.get("dataset") == wildcards.dataset and entry.get("seed") is not None and \
                (entry["structure"], entry["noise"], int(entry["rank"])) == (structure, noise, sel["rank"]):
            sel["seed"] = entry["seed"]
    return sel


def get_figure_targets(include_doc=True):
    """All figure files (PNG + PDF) the active config has data for (plus results/results.md)."""
    full = _fitted(split="all")
    families = {_family(n) for _, _, n, _ in full | _fitted(split="cv")}
    names = ["overhead"]
    if any(r >= 2 for _, _, _, r in _fitted(kinds={"catalogue", "text"}, split="all")):
        names.append("rank_selection")
    if "tweedie" in families:
        names.append("tweedie_profile")
    if "nb" in families:
        names.append("nb_dispersion")
    if _fitted(kinds={"simulated"}, split="all"):
        names.append("misspecification")
    if _fitted(kinds={"text"}, split="all"):
        names.append("text_recovery")
    if len({s for _, s, _, _ in _fitted(kinds={"catalogue"}, split="cv")}) >= 2:
        names.append("paper2")
    targets = [figure_path(n, ext) for n in names for ext in ("png", "pdf")]
    targets += [f"{FIGURES}/signatures/{d}/{c}.{ext}" for d, c in _signature_choices() for ext in ("png", "pdf")]
    if include_doc:
        targets.append("results/results.md")
    return targets


def get_figures_for_doc(wildcards):
    return get_figure_targets(include_doc=False)


def get_reference_signatures(wildcards):
    """COSMIC v3.4 SBS96 reference: the workflow's copy if common.smk defines one, else the bundled file."""
    if "get_cosmic_reference" in globals():
        return get_cosmic_reference()
    return workflow.source_path("../resources/data/reference/COSMIC_v3.4_SBS_GRCh37.txt")


def get_configfiles():
    """The config files of this run, relative to the working directory where possible (results doc)."""
    return [os.path.relpath(f) if not os.path.relpath(f).startswith("..") else str(f) for f in workflow.configfiles]
