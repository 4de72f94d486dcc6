#!/usr/bin/env bash
# The measurements issue #13 needs, in one go, for the first session that is lent a GPU (about 10 minutes on an H100).
# Usage (repository root, venv with the package installed): bash bench/gpu_first.sh [OUT_FOLDER]
out=${1:-bench/results/gpu_$(date +%F)}; mkdir -p "$out"
py=${PY:-.venv/bin/python}; [ -x "$py" ] || py=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
# the paper step as the Trainer runs it today (float16 + scaler, channels-last), then bfloat16, then bfloat16 + compile
timeout 120 $py bench/profile_step.py --device cuda --trace "$out/paper_step_trace.json" 2>&1 | tee "$out/profile_paper_fp16.txt"
timeout 100 $py bench/profile_step.py --device cuda --set amp_dtype=bfloat16 2>&1 | tee "$out/profile_paper_bf16.txt"
timeout 150 $py bench/profile_step.py --device cuda --set amp_dtype=bfloat16 compile=True 2>&1 | tee "$out/profile_paper_bf16_compile.txt"
timeout 200 $py bench/memory.py --device cuda --size 256 --ngf 64 --batch 24 2>&1 | tee "$out/memory_paper.txt"
timeout 200 $py bench/bench.py --device cuda 2>&1 | tee "$out/bench.txt"
