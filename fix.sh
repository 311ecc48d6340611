#!/usr/bin/env bash
# Apply the formatters and the safe automatic fixes.
set -euo pipefail
cd "$(dirname "$0")"
uv run ruff format .
uv run ruff check --fix .
cargo fmt
cargo clippy --fix --allow-dirty --allow-staged --all-targets
