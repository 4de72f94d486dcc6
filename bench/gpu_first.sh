#!/usr/bin/env bash
# The measurements issue #13 needs, in one go, for the first session that is lent a GPU (about 9 minutes on an H100).
# Usage (repository root, venv with the package installed): bash bench/gpu_first.sh [OUT_FOLDER]
out=${1:-bench/results/gpu_$(date +%F)}; mkdir -p "$out"
py=${PY:-.venv/bin/python}; [ -x "$py" ] || py=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
timeout 150 $py bench/profile_step.py --device cuda --trace "$out/paper_step_trace.json" 2>&1 | tee "$out/profile_paper.txt"
timeout 240 $py bench/memory.py --device cuda --size 256 --ngf 64 --batch 24 2>&1 | tee "$out/memory_paper.txt"
timeout 200 $py bench/bench.py --device cuda 2>&1 | tee "$out/bench.txt"
