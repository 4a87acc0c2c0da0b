"""Simulate counts X = noise(W H) from reference signatures H and random exposures W: every replicate of
one scenario, each from its own seed."""
import json
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import nmfcore  # noqa: E402

out = snakemake.output  # noqa: F821
reference = pd.read_csv(snakemake.input.reference, sep="\t", index_col=0)  # noqa: F821


def simulate(sim, i):
    """Replicate ``sim`` (settings plus its seed) written to the i-th file of each output kind."""
    missing = sorted(set(sim["signatures"]) - set(reference.index))
    if missing:
        raise ValueError(f"signature(s) {missing} are not in {snakemake.input.reference}")  # noqa: F821
    H = reference.loc[sim["signatures"]]
    rng = np.random.default_rng(sim["seed"])
    W = nmfcore.simulate.simulate_exposures(sim["n_samples"], len(H), random_state=rng, **sim["exposures"])
    noise = dict(sim["noise"])
    if "alpha_range" in noise:  # per-sample NB size, log-uniform
        low, high = noise.pop("alpha_range")
        noise["alpha"] = np.exp(rng.uniform(np.log(low), np.log(high), size=sim["n_samples"]))
        noise["dispersion"] = "sample"
    X = nmfcore.simulate.simulate_counts(W, H.to_numpy(), noise, random_state=rng)
    samples = pd.Index([f"S{j + 1:04d}" for j in range(sim["n_samples"])], name="sample")
    comps = pd.Index(list(H.index), name="component")
    pd.DataFrame(X, index=samples, columns=H.columns).to_csv(out.X[i], sep="\t", float_format="%.10g")
    H.rename_axis("component").to_csv(out.truth_H[i], sep="\t", float_format="%.10g")
    pd.DataFrame(W, index=samples, columns=comps).to_csv(out.truth_W[i], sep="\t", float_format="%.10g")
    meta = {"kind": "simulated", **sim,
            "noise_used": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in noise.items()},
            "zero_fraction": float(np.mean(X == 0)), "shape": list(X.shape)}
    with open(out.meta[i], "w") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"{sim['dataset']}: {X.shape[0]} x {X.shape[1]}, seed {sim['seed']}", file=sys.stderr)


for i, sim in enumerate(snakemake.params.replicates):  # noqa: F821
    simulate(sim, i)
