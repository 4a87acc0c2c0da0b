"""The raw files of a registry data set for a prepare job (see common.smk raw_input)."""
import tempfile
from contextlib import contextmanager
from pathlib import Path

import nmfcore.datasets as datasets


@contextmanager
def raw_folder(source, raw, mode, bundled_dir):
    """A folder holding the raw files of ``source``: the one fetch_dataset filled, or (``mode`` bundled) a
    temporary one into which the bundled copies are fetched -- verified by sha256, as fetch_dataset would --
    removed afterwards."""
    if mode != "bundled":
        yield raw
        return
    with tempfile.TemporaryDirectory(prefix=f"nmfbench-{source}-") as tmp:
        datasets.fetch(source, tmp, mode="bundled", bundled_dir=Path(bundled_dir))
        yield tmp


def name_bundled_copies(meta):
    """meta.json names each raw file where it was read from: a bundled copy by its place in the repository
    (its provenance record's location), not by the temporary folder it was verified in."""
    for rec in meta.get("raw_files", {}).values():
        location = rec.get("source", {}).get("location")
        if rec.get("source", {}).get("source") == "bundled" and location:
            rec["path"] = location
    return meta
