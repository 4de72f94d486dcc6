#!/usr/bin/env bash
# What to measure first when a GPU is lent, in one go (about 6 minutes): the paper's training step with each speed
# and memory option (bench/gpu_step.py), then the notebooks' GPU tests.
# Usage (repository root, the package importable): bash bench/gpu_first.sh [OUT_FOLDER]
out=${1:-bench/results/gpu_$(date +%F)}; mkdir -p "$out"
py=${PY:-.venv/bin/python}; [ -x "$py" ] || py=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
timeout ${STEP_TIMEOUT:-420} $py bench/gpu_step.py --out "$out" --budget ${STEP_BUDGET:-330} --min_time 2.5 2>&1 | tee "$out/gpu_step.txt"
# the notebooks' `#| gpu` cells (01, 03, 04, 05, 07, 08), each notebook run whole
timeout ${TEST_TIMEOUT:-200} $py -m nbdev.test --flags gpu --n_workers 6 --file_re '^0[134578]_' 2>&1 | tee "$out/gpu_tests.txt"
