"""Simulate counts X = noise(W H) from reference signatures H and random exposures W."""
import json
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import nmfcore  # noqa: E402

sim = snakemake.params.simulation  # noqa: F821
out = snakemake.output  # noqa: F821
reference = pd.read_csv(snakemake.input.reference, sep="\t", index_col=0)  # noqa: F821
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
samples = pd.Index([f"S{i + 1:04d}" for i in range(sim["n_samples"])], name="sample")
comps = pd.Index(list(H.index), name="component")
pd.DataFrame(X, index=samples, columns=H.columns).to_csv(out.X, sep="\t", float_format="%.10g")
H.rename_axis("component").to_csv(out.truth_H, sep="\t", float_format="%.10g")
pd.DataFrame(W, index=samples, columns=comps).to_csv(out.truth_W, sep="\t", float_format="%.10g")
meta = {"dataset": f"sim_{snakemake.wildcards.scenario}_r{snakemake.wildcards.rep}", "kind": "simulated", **sim,  # noqa: F821
        "noise_used": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in noise.items()},
        "zero_fraction": float(np.mean(X == 0)), "shape": list(X.shape)}
with open(out.meta, "w") as fh:
    json.dump(meta, fh, indent=1, sort_keys=True)
    fh.write("\n")
