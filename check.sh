#!/usr/bin/env bash
# Every check of the project, in the order a failure is cheapest to find.
# Usage: ./check.sh            all checks
#        SKIP_WHEEL=1 ./check.sh   without the release-wheel install check
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== %s\n' "$*"; }

step "uv sync (builds the Rust extension, optimised)"
uv sync --locked

step "ruff format --check"
uv run --no-sync ruff format --check .
step "ruff check"
uv run --no-sync ruff check .

step "cargo fmt --check"
cargo fmt --check
step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
step "cargo test"
cargo test --locked

step "stub matches the extension (mypy.stubtest)"
uv run --no-sync python -m mypy.stubtest zoomingonline._core

step "pytest (coverage of the Python code must stay above 80 %)"
uv run --no-sync pytest --cov --cov-report=term "$@"

if [ -z "${SKIP_WHEEL:-}" ]; then
  step "release wheel installs with pip into a fresh environment"
  wheeldir=$(mktemp -d)
  venv=$(mktemp -d)
  trap 'rm -rf "$wheeldir" "$venv"' EXIT
  uv run --no-sync maturin build --release --locked --out "$wheeldir" --quiet
  ls "$wheeldir"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "$wheeldir"/*.whl
  "$venv/bin/zoomingonline" --help >/dev/null
  "$venv/bin/zoomingonline" --version
fi

printf '\nall checks passed\n'
