# Python helpers of the figure rules in plots.smk (kept apart from the rules, as the linter asks):
# which figures the active config can produce, optional tables, signature selections.
# Included by plots.smk; reads `config` only here, never in the plot scripts.

TABLES = "results/tables"
FIGURES = "results/figures"


def _plots_config():
    return config.get("plots") or {}


def _dataset_kinds():
    """{dataset name: kind} from the config (kinds: catalogue | text | simulated)."""
    kinds = {}
    ds = config.get("datasets") or {}
    items = ds.items() if isinstance(ds, dict) else ((d, {}) if isinstance(d, str) else (d.get("name"), d)
                                                     for d in ds)
    for name, spec in items:
        spec = spec if isinstance(spec, dict) else {}
        kinds[name] = spec.get("kind") or spec.get("data_kind") or "catalogue"
    for name in config.get("simulations") or config.get("simulated") or {}:
        kinds.setdefault(name, "simulated")
    return kinds


def _config_noises():
    noise = config.get("noise") or config.get("noise_models") or {}
    return list(noise) if not isinstance(noise, str) else [noise]


def _config_structures():
    s = config.get("structures") or config.get("models") or []
    return list(s) if not isinstance(s, str) else [s]


def _has_cv():
    cv = config.get("cv") or config.get("paper2") or {}
    n = cv.get("n_splits", 0) if isinstance(cv, dict) else cv
    return bool(n)


def figure_path(name, ext="png"):
    return f"{FIGURES}/{name}.{ext}"


def _signature_choices():
    """[(dataset, choice)] with choice 'best_bic' or '<structure>-<noise>-k<rank>' from config plots.signatures."""
    kinds = _dataset_kinds()
    out = [(d, "best_bic") for d, k in kinds.items() if k == "catalogue"]
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
    """All figure files (PNG + PDF) the active config has data for, plus results/results.md."""
    kinds = set(_dataset_kinds().values())
    noises = _config_noises()
    names = ["overhead"]
    if kinds & {"catalogue", "text"}:
        names.append("rank_selection")
    if any(str(n).startswith("tweedie") for n in noises):
        names.append("tweedie_profile")
    if any(str(n).startswith("nb") for n in noises):
        names.append("nb_dispersion")
    if "simulated" in kinds:
        names.append("misspecification")
    if "text" in kinds:
        names.append("text_recovery")
    if _has_cv() and len(_config_structures()) >= 2:
        names.append("paper2")
    targets = [figure_path(n, ext) for n in names for ext in ("png", "pdf")]
    targets += [f"{FIGURES}/signatures/{d}/{c}.{ext}" for d, c in _signature_choices() for ext in ("png", "pdf")]
    if include_doc:
        targets.append("results/results.md")
    return targets


def _optional_table(name):
    """A table only some configs produce (Tweedie profile, NB dispersion): [] when absent."""
    names = get_figure_targets(include_doc=False)
    return [f"{TABLES}/{name}.tsv"] if figure_path(
        {"tweedie_profile": "tweedie_profile", "nb_dispersion": "nb_dispersion",
         "consistency": "paper2"}[name]) in names else []


def get_consistency_table(wildcards):
    return _optional_table("consistency")


def get_tweedie_profile_table(wildcards):
    return _optional_table("tweedie_profile")


def get_nb_dispersion_table(wildcards):
    return _optional_table("nb_dispersion")


def get_figures_for_doc(wildcards):
    return get_figure_targets(include_doc=False)


def get_reference_signatures(wildcards):
    """COSMIC v3.4 SBS96 reference: the workflow's copy if common.smk defines one, else the bundled file."""
    if "get_cosmic_reference" in globals():
        return get_cosmic_reference()
    return workflow.source_path("../resources/data/reference/COSMIC_v3.4_SBS_GRCh37.txt")
