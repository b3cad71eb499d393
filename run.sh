#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set up (or reuse) everything dfasim needs, then run it:
#   ./run.sh demo          the main job on the embedded default dataset (BasicMotions)
#   ./run.sh test [ARGS]   the test suite (ARGS go to pytest)
# Python packages go into .venv/ at the repository root; the Debian tools (iverilog, yosys,
# qflow-tech-osu018) are installed with apt-get when running as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() { echo "dfasim setup: $*" >&2; exit 1; }

ensure_python() {
    PY=${PYTHON:-python3}
    command -v "$PY" >/dev/null || die "python3 (>= 3.11) is not installed"
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "python >= 3.11 is required, found $("$PY" --version 2>&1)"
    "$PY" -c 'import venv, ensurepip' 2>/dev/null \
        || die "the Python venv module is missing: install the Debian package python3-venv"
}

ensure_system_packages() {
    local missing=()
    command -v iverilog >/dev/null || missing+=(iverilog)
    command -v yosys >/dev/null || missing+=(yosys)
    [ -f /usr/share/qflow/tech/osu018/osu018_stdcells.lib ] || missing+=(qflow-tech-osu018)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "dfasim setup: apt-get install ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    else
        die "missing system packages: run 'sudo apt-get install ${missing[*]}' and try again"
    fi
}

ensure_venv() {
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    local stamp=.venv/.dfasim-setup key
    key=$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
        echo "dfasim setup: installing Python packages into .venv" >&2
        .venv/bin/python -m pip install -q --upgrade pip >/dev/null
        # The CPU build first, so the torch range below does not pull a CUDA build.
        .venv/bin/python -c 'import torch' 2>/dev/null \
            || .venv/bin/python -m pip install -q torch==2.13.0
        .venv/bin/python -m pip install -q -e '.[dev]'
        echo "$key" > "$stamp"
    fi
}

setup() { ensure_python; ensure_system_packages; ensure_venv; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    demo)
        setup
        # The whole path on the embedded BasicMotions data: train the FP32 SNN, fit the GPR
        # noise model, deploy on 5 noisy chips, adapt with BP and DFA, roll up the cost.
        .venv/bin/dfasim reproduce --dataset basic_motions --out runs/demo "$@"
        ;;
    test)
        setup
        rc=0
        .venv/bin/python -m pytest "$@" || rc=$?
        # pytest exits 5 when it collected no tests: that must fail, not pass silently.
        [ $rc -eq 5 ] && echo "dfasim: pytest collected no tests" >&2
        exit $rc
        ;;
    *)
        echo "usage: ./run.sh demo | ./run.sh test [pytest args]" >&2
        exit 2
        ;;
esac
