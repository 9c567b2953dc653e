#!/usr/bin/env bash
# The README's first command: set up, then run xinan's main job end to end on synthetic data.
source "$(dirname "$0")/_venv.sh"
exec xinan demo "$@"
