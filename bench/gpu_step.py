#!/usr/bin/env python3
"""The `paper` training step (batch 24, 256x256, 15 blocks, LPIPS) on one GPU with each speed and memory option, in one process.

    python bench/gpu_step.py --out bench/results/gpu_step          # on a GPU: about 5 minutes
    python bench/gpu_step.py --device cpu --size 32 --ngf 8 --batch 4 --min_time 0.2   # the script's own check on a CPU

Prints, row by row as it measures them (a run cut short keeps what it measured; `--out` also gets `rows.jsonl`):
- the machine's matmul peaks (fp32, bf16), against which "% of peak" is computed;
- speed: pairs/s, TFLOP/s and peak memory of `Trainer.train_step` in float16 (with a gradient scaler) and bfloat16
  autocast, channels-last or not, cuDNN's autotuner (`cudnn.benchmark`) on or off, instance norm run as the
  equivalent GroupNorm (one group per channel), and `torch.compile`; plus the comparison point: a plain fp32 CycleGAN
  step of the reference architecture (9 blocks, transposed-convolution decoder, no perceptual loss);
- where the time goes (torch.profiler, grouped as in `profile_step.py`) for the default and the fastest option;
- memory: the peak with gradient accumulation (`accum_steps`) and activation checkpointing (`checkpoint_blocks`),
  and whether the paper's batch of 24 then runs inside the memory of common GPUs (the process is capped with
  `torch.cuda.set_per_process_memory_fraction`, so a step that needs more fails as it would there).
Not part of the test suite.
"""
import argparse, gc, json, os, sys, tempfile, time, warnings
os.environ.setdefault('USENHANCE_OFFLINE', '1')
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

import usenhance_nb.trainer as train  # the Trainer and the `build_models` it calls
from usenhance_nb.core import get_config
from usenhance_nb.data import SAMPLE_DIR
from usenhance_nb.generator import ResBlock, conv_block, init_weights
from bench import timeit, count_flops, matmul_peak
from profile_step import time_by_kind

# usable memory of common GPUs (what is left after the CUDA context), GiB
GPUS = [('T4 16 GB (Colab)', 14.5), ('L4 / RTX 4090 24 GB', 22.0), ('A100 40 GB', 38.5), ('A100 / H100 80 GB', 78.0)]

def reference_generator(ngf:int=64, n_blocks:int=9)->nn.Module:
    "The reference CycleGAN generator: 7x7 conv, two stride-2 convs, residual blocks, two transposed convs, 7x7 conv, tanh; no skips."
    layers = [*conv_block(1, ngf, 7), *conv_block(ngf, 2 * ngf, 3, 2), *conv_block(2 * ngf, 4 * ngf, 3, 2)]
    layers += [ResBlock(4 * ngf) for _ in range(n_blocks)]
    for c in (4 * ngf, 2 * ngf):
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=False), nn.InstanceNorm2d(c // 2, affine=True), nn.ReLU()]
    return init_weights(nn.Sequential(*layers, nn.ReflectionPad2d(3), nn.Conv2d(ngf, 1, 7), nn.Tanh()))

def as_group_norm(net:nn.Module)->nn.Module:
    "Replace every affine InstanceNorm2d by GroupNorm with one group per channel: the same function and parameter names."
    for m in list(net.modules()):
        for name, c in m.named_children():
            if isinstance(c, nn.InstanceNorm2d) and c.affine:
                g = nn.GroupNorm(c.num_features, c.num_features, eps=c.eps)
                g.load_state_dict(c.state_dict()); setattr(m, name, g)
    return net

def models(arch:str, norm:str):
    "A `build_models` for the Trainer: ours or the reference generators, instance norm as it is or as GroupNorm."
    build = train.build_models
    def built(cfg):
        nets = build(cfg)
        if arch == 'reference':
            for k in ('g_h', 'g_l'): nets[k] = reference_generator(cfg.ngf, cfg.n_blocks)
        return as_group_norm(nets) if norm == 'group' else nets
    return built

FP16, BF16, CL = dict(amp_dtype='float16'), dict(amp_dtype='bfloat16'), dict(channels_last=True)
# name: (label, Config fields, options of `Bench.step`); the first is the Trainer's default, profiled
SPEED = {
    'fp16': ('float16 + scaler, NCHW (the default)', FP16, dict(benchmark=False, prof=True)),
    'fp16_cl': ('float16 + scaler, channels-last', dict(FP16, **CL), dict(benchmark=False)),
    'fp16_cl_bench': ('float16 + scaler, channels-last, cudnn.benchmark', dict(FP16, **CL), {}),
    'bf16_cl_bench': ('bfloat16, channels-last, cudnn.benchmark', dict(BF16, **CL), {}),
    'bf16': ('bfloat16, NCHW', BF16, dict(benchmark=False)),
    'bf16_bench': ('bfloat16, NCHW, cudnn.benchmark', BF16, {}),
    'bf16_cl_group': ('bfloat16, channels-last, cudnn.benchmark, instance norm as GroupNorm', dict(BF16, **CL), dict(norm='group')),
    'fp16_compile': ('float16 + scaler, NCHW, torch.compile', dict(FP16, compile=True), dict(benchmark=False)),
    'bf16_compile': ('bfloat16, NCHW, torch.compile', dict(BF16, compile=True), dict(benchmark=False)),
}

class Bench:
    def __init__(self, a):
        self.a, self.device, self.rows, self.flops, self.t0 = a, torch.device(a.device), [], {}, time.time()
        self.cuda = self.device.type == 'cuda'
        self.tmp = tempfile.mkdtemp(prefix='usenhance_gpu_step_')

    def sync(self):
        if self.cuda: torch.cuda.synchronize()

    def free(self):
        gc.collect()
        if self.cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()

    def record(self, r:dict):
        self.rows.append(r)
        mem = f"{r['peak_alloc_mib']:,.0f} / {r['peak_reserved_mib']:,.0f}" if 'peak_alloc_mib' in r else ''
        speed = f"{r['pairs_s']:.1f} | {r['tflops']:.0f} | {r['pct_peak']:.0f}%" if 'pairs_s' in r else f"{r.get('error', '')} | |"
        print(f"| {r['label']} | {speed} | {mem} |", flush=True)
        if self.a.out:
            with open(os.path.join(self.a.out, 'rows.jsonl'), 'a') as f: f.write(json.dumps(r) + '\n')

    def trainer(self, over:dict, arch='ours', norm='instance', variant='ours'):
        a = self.a
        cfg = get_config('paper', 'cyclegan' if arch == 'reference' else variant, image_size=a.size, ngf=a.ngf, ndf=a.ngf,
                         batch_size=a.batch, lpips_net='vgg-untrained', **({'n_blocks': 9} if arch == 'reference' else {}), **over)
        build, train.build_models = train.build_models, models(arch, norm)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                return train.Trainer(cfg, SAMPLE_DIR, self.tmp, device=self.device, overwrite=True)
        finally: train.build_models = build

    def step(self, label:str, over:dict=None, arch='ours', norm='instance', benchmark=True, cap_gib=None, prof=False):
        "Time `train_step` with these options; record pairs/s, TFLOP/s, % of the bf16 peak, peak memory."
        over = over or {}
        r = dict(label=label, over=over, arch=arch, norm=norm, cudnn_benchmark=benchmark, cap_gib=cap_gib)
        self.free()
        if self.cuda:
            torch.backends.cudnn.benchmark = benchmark
            total = torch.cuda.get_device_properties(self.device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gib * 2**30 / total) if cap_gib else 1.0)
        tr = None
        try:
            tr = self.trainer(over, arch, norm)
            s = self.a.size
            low, high = (tr.to_device(torch.rand(self.a.batch, 1, s, s) * 2 - 1) for _ in range(2))
            run = lambda: tr.train_step(low, high)
            run(); run(); self.sync()        # warm up: cuDNN autotuning, compilation, the allocator's pools
            key = (arch, norm, over.get('checkpoint_blocks', False))
            if key not in self.flops: self.flops[key] = count_flops(run) / self.a.batch
            if self.cuda: torch.cuda.reset_peak_memory_stats()
            sec = timeit(run, self.device, min_time=self.a.min_time, warmup=0)
            tf = self.flops[key] * self.a.batch / sec / 1e12
            r.update(pairs_s=self.a.batch / sec, ms_step=1000 * sec, gflop_pair=self.flops[key] / 1e9, tflops=tf,
                     pct_peak=100 * tf / self.peak, amp=tr.amp, amp_dtype=tr.cfg.amp_dtype,
                     channels_last=tr.memory_format == torch.channels_last)
            if self.cuda:
                r.update(peak_alloc_mib=torch.cuda.max_memory_allocated() / 2**20,
                         peak_reserved_mib=torch.cuda.max_memory_reserved() / 2**20)
            if prof: r['profile'] = self.profile(run, sec)
        except torch.OutOfMemoryError:
            r['error'] = 'out of memory' + (f' under a {cap_gib} GiB cap' if cap_gib else '')
        except Exception as e:  # a row that cannot run says why; the others still run
            r['error'] = f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
        del tr
        self.record(r)
        return r

    def profile(self, run, sec:float, steps:int=3)->dict:
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        with profile(activities=acts) as p:
            for _ in range(steps): run()
            self.sync()
        by, busy = time_by_kind(p, self.device, steps)
        key = 'self_device_time_total' if self.cuda else 'self_cpu_time_total'
        print(p.key_averages().table(sort_by=key, row_limit=15, max_name_column_width=70), flush=True)
        return dict(ms_by_kind={k: round(1000 * v, 2) for k, v in by.items()}, busy_ms=1000 * busy, idle_pct=100 * max(0, 1 - busy / sec))

    def left(self)->float: return self.a.budget - (time.time() - self.t0)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--size', type=int, default=256); ap.add_argument('--ngf', type=int, default=64)
    ap.add_argument('--batch', type=int, default=24); ap.add_argument('--min_time', type=float, default=3.0)
    ap.add_argument('--budget', type=float, default=420, help='seconds; later sections are skipped once spent')
    ap.add_argument('--out', default=None)
    ap.add_argument('--rows', nargs='*', default=None, help=f'only these speed rows, of {list(SPEED)}')
    a = ap.parse_args()
    if a.out: os.makedirs(a.out, exist_ok=True)
    b = Bench(a); dev = b.device
    name = torch.cuda.get_device_name(dev) if b.cuda else 'CPU'
    n = 8192 if b.cuda else 512
    p32, p16 = matmul_peak(dev, torch.float32, n), matmul_peak(dev, torch.bfloat16, n)
    b.peak = p16 / 1e3 if b.cuda else p32 / 1e3   # TFLOP/s: bf16 on a GPU (mixed precision), fp32 on a CPU
    print(f"# {name}, torch {torch.__version__}: paper preset at {a.size}px, ngf {a.ngf}, batch {a.batch}, LPIPS on an "
          f"untrained VGG16 (the paper's architecture, no download)\nmatmul {n}x{n}: fp32 {p32 / 1e3:.1f} TFLOP/s, "
          f"bf16 {p16 / 1e3:.1f} TFLOP/s; '% of peak' is of the {'bf16' if b.cuda else 'fp32'} figure\n", flush=True)
    if a.out: json.dump(dict(device=name, torch=torch.__version__, fp32_tflops=p32 / 1e3, bf16_tflops=p16 / 1e3,
                             size=a.size, ngf=a.ngf, batch=a.batch), open(os.path.join(a.out, 'machine.json'), 'w'))
    print('| option | pairs/s | TFLOP/s | % of peak | peak memory allocated / reserved (MiB) |\n|---|---|---|---|---|', flush=True)
    rows = a.rows or list(SPEED)
    speed = [b.step(SPEED[k][0], SPEED[k][1], **SPEED[k][2]) for k in rows if k in SPEED]
    if a.rows: return print(f"\n{time.time() - b.t0:.0f} s", flush=True)
    default = speed[0]
    b.step('reference CycleGAN (9 blocks, transposed convs, no LPIPS), fp32 NCHW, plain', dict(amp=False, channels_last=False),
                 arch='reference', benchmark=False)
    b.step('reference CycleGAN, fp32 NCHW, cudnn.benchmark', dict(amp=False, channels_last=False), arch='reference')
    ok = [r for r in speed if 'pairs_s' in r and not r['over'].get('compile')]   # compiling each memory row would take long
    best = max(ok, key=lambda r: r['pairs_s']) if ok else default
    print(f"\nfastest: {best['label']}", flush=True)
    if best is not default and 'pairs_s' in best:
        b.step(best['label'] + ' (profiled)', best['over'], norm=best['norm'], benchmark=best['cudnn_benchmark'], prof=True)
    # memory, with the fastest options: accumulation and checkpointing, then whether the paper's batch fits smaller GPUs
    base, kw = best['over'], dict(norm=best['norm'], benchmark=best['cudnn_benchmark'])
    mem = []
    for acc, ck in [(2, False), (4, False), (6, False), (8, False), (1, True), (4, True), (8, True)]:
        if b.left() < 60: print('(memory rows skipped: budget spent)'); break
        if a.batch % acc: continue
        label = ' + '.join(([f'accum_steps={acc}'] if acc > 1 else []) + (['checkpoint_blocks'] if ck else []))
        mem.append(b.step(label, dict(base, accum_steps=acc, checkpoint_blocks=ck), **kw))
    if b.cuda:
        for gpu, cap in GPUS:
            fits = sorted([r for r in [best] + mem if 'peak_reserved_mib' in r and r['peak_reserved_mib'] < 0.97 * cap * 1024],
                          key=lambda r: -r['pairs_s'])
            if not fits or b.left() < 45: continue
            b.step(f"{fits[0]['label'] or 'plain'}, capped at {cap} GiB ({gpu})", fits[0]['over'], cap_gib=cap, **kw)
    print(f"\n{time.time() - b.t0:.0f} s", flush=True)

if __name__ == '__main__':
    main()
