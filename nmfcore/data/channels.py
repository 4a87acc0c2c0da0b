"""SBS96 channel labels and the data layer's errors and warnings."""
from __future__ import annotations

import logging


log = logging.getLogger("nmfcore.datasets")

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


class ChannelLabelError(DataFormatError):
    """The SBS96 channel labels of a catalogue are the problem (none, unknown, duplicated or missing ones)."""


class ChecksumError(ValueError):
    """Obtained bytes do not match the registered sha256 (never silently replaced by another source)."""


class SourceUnavailableError(RuntimeError):
    """A source could not be reached or does not exist (network down, pip failed, no bundled copy)."""


class DataWarning(UserWarning):
    """Something unusual but recoverable in the data (e.g. non-integer counts, rows removed)."""


