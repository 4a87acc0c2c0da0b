"""Write the reference signatures (COSMIC) as a signatures x 96 TSV, channels by label."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

import nmfcore.datasets as datasets  # noqa: E402
from _raw import raw_folder  # noqa: E402

name = snakemake.wildcards.reference  # noqa: F821
with raw_folder(name, snakemake.input.raw, snakemake.params.mode, snakemake.params.bundled_dir) as raw:  # noqa: F821
    R, _ = datasets.load(name, raw)
R.to_csv(snakemake.output[0], sep="\t", index_label="signature", float_format="%.10g")  # noqa: F821
print(f"{name}: {R.shape[0]} signatures x {R.shape[1]} channels", file=sys.stderr)
