"""Obtain the raw file(s) of one registry data set, verified by sha256 (nmfcore.datasets.fetch)."""
import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import nmfcore.datasets as datasets  # noqa: E402

# bundled copies are looked up next to this workflow, not next to wherever nmfcore was installed
path = datasets.fetch(snakemake.wildcards.dataset, snakemake.output[0], mode=snakemake.params.mode,  # noqa: F821
                      bundled_dir=Path(snakemake.params.bundled_dir))  # noqa: F821
print(f"fetched {snakemake.wildcards.dataset} -> {path}", file=sys.stderr)  # noqa: F821
