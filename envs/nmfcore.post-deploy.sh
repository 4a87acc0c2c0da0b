#!/usr/bin/env bash
# Run by Snakemake (--sdm conda) inside the freshly created environment: install nmfcore from the
# checkout this file belongs to (without dependencies: the environment file provides them).
set -euo pipefail
pip install --no-deps --no-build-isolation -e "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
