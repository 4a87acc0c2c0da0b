"""SBS96 channel labels and the data layer's errors and warnings."""
from __future__ import annotations

import logging
import re

log = logging.getLogger("nmfcore.datasets")

# ----------------------------------------------------------------------------- channels

_BASES = "ACGT"
_SUBSTITUTIONS = tuple(f"{ref}>{alt}" for ref in "CT" for alt in _BASES if alt != ref)
#: The 96 SBS channel labels ``5'[REF>ALT]3'`` in the alphabetical SigProfiler/COSMIC order.
SBS96_CHANNELS: tuple[str, ...] = tuple(sorted(
    f"{five}[{sub}]{three}" for sub in _SUBSTITUTIONS for five in _BASES for three in _BASES))
_CHANNEL_SET = frozenset(SBS96_CHANNELS)

# Other spellings of a channel in published catalogues (any case; ':', '_', '-', '.' or a space between parts):
# ACA>AAA (trinucleotide before and after), C>A:ACA and ACA:C>A (substitution and trinucleotide, as the two
# columns of Alexandrov et al. 2013 / COSMIC v2 joined), ACAA (trinucleotide and alternative base, mSigAct).
_SPELLINGS = tuple(re.compile(p) for p in (
    r"^(?P<five>[ACGT])\[(?P<ref>[CT])>(?P<alt>[ACGT])\](?P<three>[ACGT])$",
    r"^(?P<five>[ACGT])(?P<ref>[CT])(?P<three>[ACGT])>(?P=five)(?P<alt>[ACGT])(?P=three)$",
    r"^(?P<ref>[CT])>(?P<alt>[ACGT])[:_ .-]?(?P<five>[ACGT])(?P=ref)(?P<three>[ACGT])$",
    r"^(?P<five>[ACGT])(?P<ref>[CT])(?P<three>[ACGT])[:_ .-]?(?P=ref)>(?P<alt>[ACGT])$",
    r"^(?P<five>[ACGT])(?P<ref>[CT])(?P<three>[ACGT])(?P<alt>[ACGT])$",
))


def sbs96_channel(label) -> str | None:
    """The canonical label ``5'[REF>ALT]3'`` of an SBS96 channel written in any of the spellings above, or
    None (also for a substitution of a base by itself)."""
    text = str(label).strip().upper()
    for spelling in _SPELLINGS:
        found = spelling.match(text)
        if found and found["ref"] != found["alt"]:
            return f"{found['five']}[{found['ref']}>{found['alt']}]{found['three']}"
    return None

# ----------------------------------------------------------------------------- errors


class DataFormatError(ValueError):
    """A data file does not have the expected format; the message names file, problem and fix."""


class ChannelLabelError(DataFormatError):
    """The SBS96 channel labels of a catalogue are the problem (none, unknown, duplicated or missing ones)."""


class ChecksumError(ValueError):
    """Obtained bytes do not match the registered sha256 (never silently replaced by another source)."""


class SourceUnavailableError(RuntimeError):
    """A source could not be reached or does not exist (network down, pip failed, no bundled copy)."""


class DataWarning(UserWarning):
    """Something unusual but recoverable in the data (e.g. non-integer counts, rows removed)."""


