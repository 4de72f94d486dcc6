#!/usr/bin/env python
"""Keep the committed notebooks' outputs (figures, tables, printed numbers) fresh, and check that they are.

    .venv/bin/python docs/outputs.py --check           # CI: fails when an output is missing or stale
    .venv/bin/python docs/outputs.py --update          # re-run the stale notebooks, write their outputs
    .venv/bin/python docs/outputs.py --update 05_perceptual 07_metrics   # or these (--all: every notebook)
    .venv/bin/python docs/outputs.py --update 08a_watch --slow           # also run its `slow` cells (real training)

The notebooks are committed with their outputs so that the figures show on GitHub, in Colab before anything
runs, and on the published site (nbdev's convention). `--update` executes a notebook exactly as the docs build
and `nbdev_test` do (offline, widgets drawn as static figures, `slow`/`gpu` cells skipped: those keep the outputs
they had, recorded with `--slow`), writes the repository's absolute path out of its outputs, cleans it with
nbdev's `clean_nb` and stamps it: the notebook's metadata `usenhance.outputs` records two fingerprints,

- `inputs`: SHA-256 of everything the outputs were computed from: the notebook's code cells (markdown does not
  count), and the source of every `usenhance_nb` module the code imports, directly or through other modules
  (nbdev's `# %% notebook cell` marker lines left out, so moving a markdown cell does not count), plus the files
  in `usenhance_nb/weights/` when one of those modules loads weights;
- `outputs`: SHA-256 of the cleaned outputs themselves.

`--check` recomputes both. An output is **missing** when the notebook has no stamp or its outputs no longer
match the stamp (stripped or edited by hand); it is **stale** when the inputs changed after the outputs were
recorded: a code cell of the notebook or an imported module was edited. Then run `--update` and commit.
`--selftest` shows on a copy that each of these is caught (CI runs it).
"""
import argparse, copy, hashlib, json, os, re, shutil, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT/'usenhance_nb'
KEY = 'usenhance'
JPEG_QUALITY = 85


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for p in parts: h.update(p if isinstance(p, bytes) else str(p).encode()); h.update(b'\0')
    return h.hexdigest()


def _src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def code_cells(nb) -> list: return [c for c in nb['cells'] if c['cell_type'] == 'code']


# ------------------------------------------------------------------ what the outputs depend on
_MODULE = re.compile(r'usenhance_nb\.([\w.]+)')                              # usenhance_nb.x or usenhance_nb.x.y
_FROM_PKG = re.compile(r'from[ \t]+usenhance_nb[ \t]+import[ \t]+\(?([\w \t,]+)')  # from usenhance_nb import x, y
_FROM_REL = re.compile(r'from[ \t]+(\.+)([\w.]+)[ \t]+import')                      # from .x import ... / from ..x import
_FROM_DOT = re.compile(r'from[ \t]+\.[ \t]+import[ \t]+\(?([\w \t,]+)')           # from . import x, y


def module_file(name: str) -> Path | None:
    "The source file of package module `name` ('losses', 'exercises.losses', 'exercises' for its __init__), or None."
    base = PKG.joinpath(*name.split('.')) if name != '__init__' else PKG/'__init__'
    for f in (base.with_suffix('.py'), base/'__init__.py'):
        if f.is_file(): return f
    return None


def _module_names(text: str, here: str = '') -> set:
    "Names of package modules that `text` (the source of module `here`, '' for a notebook) imports."
    names = {n.rstrip('.') for n in _MODULE.findall(text)} | {n.strip() for m in _FROM_PKG.findall(text) for n in m.split(',')}
    if here:  # relative imports resolve against the importing module's package
        pkg = here.split('.')[:-1] if module_file(here) and module_file(here).name != '__init__.py' else here.split('.')
        for dots, rest in _FROM_REL.findall(text):
            up = pkg[:len(pkg) - (len(dots) - 1)] if len(dots) > 1 else pkg
            names.add('.'.join(up + [rest]))
        names |= {'.'.join(pkg + [n.strip()]) for m in _FROM_DOT.findall(text) for n in m.split(',')}
    out = set()
    for n in names:  # 'x.y.Z' where Z is not a module: keep the longest prefix that is one
        parts = n.split('.') if n else []
        while parts and not module_file('.'.join(parts)): parts.pop()
        if parts: out.add('.'.join(parts))
    return out


def _module_text(name: str, modules: dict | None) -> str:
    text = modules[name] if modules and name in modules else module_file(name).read_text()
    return '\n'.join(l for l in text.splitlines() if not l.startswith('# %% '))  # nbdev's cell markers


def dependencies(nb, modules: dict | None = None) -> list:
    "The package modules a notebook's code imports, directly or through other modules, sorted."
    todo = _module_names('\n'.join(_src(c) for c in code_cells(nb)))
    todo |= {'__init__'} if (PKG/'__init__.py').is_file() else set()
    seen = set()
    while todo:
        n = todo.pop(); seen.add(n)
        todo |= _module_names(_module_text(n, modules), here=n if n != '__init__' else '') - seen
    return sorted(seen)


def inputs_fingerprint(nb, modules: dict | None = None) -> str:
    "SHA-256 of the notebook's code cells and of the modules (and bundled weights) its outputs come from."
    deps = dependencies(nb, modules)
    parts = [_src(c) for c in code_cells(nb)]
    parts += [f'{n}\n{_module_text(n, modules)}' for n in deps]
    if any("'weights'" in _module_text(n, modules) for n in deps):
        parts += [f'{p.name}\n'.encode() + p.read_bytes() for p in sorted((PKG/'weights').glob('*')) if p.is_file()]
    return _sha(*parts)


def outputs_fingerprint(nb) -> str:
    return _sha(json.dumps([c.get('outputs', []) for c in code_cells(nb)], sort_keys=True))


# ------------------------------------------------------------------ check
def status(nb, modules: dict | None = None) -> str:
    "'fresh', 'missing' (no stamp, or outputs changed since stamped) or 'stale' (code changed since)."
    st = nb.get('metadata', {}).get(KEY, {}).get('outputs')
    if not st: return 'missing'
    if st.get('outputs') != outputs_fingerprint(nb): return 'missing'
    if st.get('inputs') != inputs_fingerprint(nb, modules): return 'stale'
    return 'fresh'


def has_slow_outputs(nb) -> bool:
    "Does a cell flagged `slow` carry outputs (recorded by `--update --slow`)?"
    return any(re.match(r'\s*#\|\s*slow\b', _src(c)) and c.get('outputs') for c in code_cells(nb))


def slow_status(nb, modules: dict | None = None) -> str | None:
    "None (no slow outputs), 'fresh', or 'older': the slow cells' outputs were recorded with other inputs."
    if not has_slow_outputs(nb): return None
    st = nb.get('metadata', {}).get(KEY, {}).get('outputs', {})
    return 'fresh' if st.get('slow_inputs') == inputs_fingerprint(nb, modules) else 'older'


def notebooks(nbs: Path) -> list:
    return sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.')))


def check(paths) -> int:
    bad = []
    for p in paths:
        s = status(json.loads(p.read_text()))
        if s != 'fresh': bad.append((p, s))
    for p, s in bad:
        why = ('its outputs were never recorded, or were changed or stripped after they were' if s == 'missing' else
               'its code, or a usenhance_nb module it imports, changed after its outputs were recorded')
        print(f'{s.upper():8} {p.relative_to(ROOT)}: {why}')
    if bad:
        names = ' '.join(p.stem for p, _ in bad)
        print(f'\n{len(bad)} of {len(paths)} notebooks need fresh outputs: run\n  .venv/bin/python docs/outputs.py --update {names}\nand commit them.')
        return 1
    print(f'outputs: all {len(paths)} notebooks carry fresh outputs')
    for p in paths:  # a note, not a failure: refreshing them means training again
        if slow_status(json.loads(p.read_text())) == 'older':
            print(f'note: {p.stem}: the outputs of its `slow` cells were recorded with older code or cells; '
                  f'refresh them with: .venv/bin/python docs/outputs.py --update {p.stem} --slow')
    return 0


# ------------------------------------------------------------------ update
def repo_relative(nb, root: Path = ROOT) -> None:
    "Write the repository's absolute path out of the outputs ('/home/me/usenhance-nb/data/sample' -> 'data/sample'): they read the same on every machine."
    pre = str(root) + '/'
    tmp = re.compile(r'/tmp/ipykernel_\d+/\d+\.py|/tmp/tmp[\w-]+|/tmp(?=/)')  # a cell's file in warnings, temporary folders
    one = lambda x: tmp.sub(lambda m: '<cell>' if 'ipykernel' in m.group(0) else '<tmp>', x.replace(pre, ''))
    sub = lambda t: [one(x) for x in t] if isinstance(t, list) else one(t)
    for c in code_cells(nb):
        for o in c.get('outputs', []):
            if 'text' in o: o['text'] = sub(o['text'])
            for k in ('text/plain', 'text/html', 'text/markdown'):
                if k in o.get('data', {}): o['data'][k] = sub(o['data'][k])


def stamp(nb, slow_inputs: str | None = None) -> None:
    "Clean `nb` as nbdev_clean does, then record the fingerprints in its metadata (`slow_inputs`: of the slow cells' run)."
    from nbdev.clean import clean_nb
    from nbdev.config import get_config
    cfg = get_config()
    clean_nb(nb, clear_all=False, allowed_metadata_keys=cfg.get('allowed_metadata_keys', '').split(),
             allowed_cell_metadata_keys=cfg.get('allowed_cell_metadata_keys', '').split(), clean_ids=cfg.clean_ids)
    st = dict(inputs=inputs_fingerprint(nb), outputs=outputs_fingerprint(nb))
    if slow_inputs == 'now': slow_inputs = st['inputs']
    if slow_inputs: st['slow_inputs'] = slow_inputs
    nb['metadata'][KEY] = dict(outputs=st)


def update(paths, jobs: int, timeout: int, slow: bool = False) -> int:
    sys.path.insert(0, str(ROOT/'docs'))
    import build
    from execnb.nbio import write_nb, dict2nb
    st = build.settings()  # chdir ROOT
    with tempfile.TemporaryDirectory() as d:
        # figures as JPEG: speckle does not compress as PNG (a 256x256 phantom grid is ~0.7 MB as PNG, ~0.1 MB as JPEG)
        prof = Path(d)/'ipython'/'profile_default'
        prof.mkdir(parents=True)
        (prof/'ipython_kernel_config.py').write_text(
            "c.InlineBackend.figure_formats = {'jpeg'}\n"
            f"c.InlineBackend.print_figure_kwargs = {{'bbox_inches': 'tight', 'pil_kwargs': {{'quality': {JPEG_QUALITY}}}}}\n")
        old_ipy = os.environ.get('IPYTHONDIR'); os.environ['IPYTHONDIR'] = str(prof.parent)
        t0 = time.time()
        flags = st['tst_flags'] - ({'slow'} if slow else set())
        exec_dir, errs = build.execute(paths, Path(d), flags, jobs, timeout)
        for p, e in errs: print(f'\nERROR executing {p.name} (its outputs are left as they were):\n{e}\n')
        failed = {p for p, _ in errs}
        for p in paths:
            if p in failed: continue
            before = json.loads(p.read_text()).get('metadata', {}).get(KEY, {}).get('outputs', {})
            nb = json.loads((exec_dir/p.name).read_text())
            repo_relative(nb)
            stamp(nb, 'now' if slow else before.get('slow_inputs'))
            write_nb(dict2nb(nb), p)
            assert status(json.loads(p.read_text())) == 'fresh', p  # what nbdev_clean would write, stamped
        record_times({p.stem: build.TIMES[p.name] for p in paths if p not in failed and p.name in build.TIMES}, slow)
        print(f'updated {len(paths) - len(failed)} of {len(paths)} notebooks in {time.time() - t0:.0f} s')
        if old_ipy is None: os.environ.pop('IPYTHONDIR', None)
        else: os.environ['IPYTHONDIR'] = old_ipy
    return 1 if failed else 0


TIMES_FILE = ROOT/'nbs'/'results'/'notebook_times.json'


def record_times(times: dict, slow: bool) -> None:
    "Merge the measured run time of each notebook executed top to bottom into nbs/results/notebook_times.json."
    old = json.loads(TIMES_FILE.read_text()) if TIMES_FILE.exists() else {}
    key = 'seconds_with_slow' if slow else 'seconds'
    for name, sec in times.items():
        old.setdefault(name, {})[key] = round(sec, 1)
        old[name]['cpus'] = os.cpu_count()
    TIMES_FILE.write_text(json.dumps(dict(sorted(old.items())), indent=1) + '\n')


# ------------------------------------------------------------------ self-test
def selftest() -> int:
    "On a copy of a stamped notebook: each kind of change is reported as it should be."
    stamped = [p for p in notebooks(ROOT/'nbs') if status(json.loads(p.read_text())) == 'fresh'
               and any(c.get('outputs') for c in code_cells(json.loads(p.read_text())))]
    if not stamped: print('selftest: no notebook with fresh outputs to test on'); return 1
    p = stamped[0]
    nb0 = json.loads(p.read_text())
    deps = dependencies(nb0)
    mod = next(n for n in deps if n != '__init__')
    results = []
    def expect(what, got, want):
        results.append(got == want)
        print(f'  {"ok" if got == want else "FAIL":4} {what}: {got} (expected {want})')
    expect('as committed', status(nb0), 'fresh')
    nb = copy.deepcopy(nb0); md = next(c for c in nb['cells'] if c['cell_type'] == 'markdown')
    md['source'] = _src(md) + '\nOne more sentence.'
    expect('a markdown cell edited', status(nb), 'fresh')
    nb = copy.deepcopy(nb0); c = code_cells(nb)[-1]; c['source'] = _src(c) + '\nx = 1'
    expect('a code cell edited', status(nb), 'stale')
    expect(f'module {mod} (imported) edited', status(nb0, {mod: module_file(mod).read_text() + '\nX = 1\n'}), 'stale')
    nb = copy.deepcopy(nb0)
    for c in code_cells(nb): c['outputs'] = []
    expect('outputs stripped', status(nb), 'missing')
    nb = copy.deepcopy(nb0)
    c = next(c for c in code_cells(nb) if c.get('outputs')); c['outputs'] = c['outputs'][:-1]
    expect('one output removed', status(nb), 'missing')
    nb = copy.deepcopy(nb0); del nb['metadata'][KEY]
    expect('no stamp', status(nb), 'missing')
    nb = copy.deepcopy(nb0); c = code_cells(nb)[-1]
    c['source'] = '#| slow\n' + _src(c); c['outputs'] = [dict(output_type='stream', name='stdout', text='trained\n')]
    stamp(nb, 'now')                                              # as `--update --slow` records it
    expect('slow cells run with this code', slow_status(nb), 'fresh')
    c['source'] = _src(c) + '\ny = 2'
    stamp(nb, nb['metadata'][KEY]['outputs']['slow_inputs'])      # as a plain `--update` records it, skipping the slow cell
    expect('slow cell edited, plain --update', (status(nb), slow_status(nb)), ('fresh', 'older'))
    nb = copy.deepcopy(nb0); c = code_cells(nb)[-1]
    c['outputs'] = [dict(output_type='stream', name='stdout', text=[f'read {ROOT}/data/sample\n']),
                    dict(output_type='execute_result', data={'text/plain': f"PosixPath('{ROOT}/nbs')"}, metadata={})]
    c['outputs'].append(dict(output_type='stream', name='stderr', text='/tmp/ipykernel_123/456.py:2: UserWarning: x\nin /tmp/tmpab_c1/run\n'))
    repo_relative(nb)
    expect('the repository path in outputs', [c['outputs'][0]['text'], c['outputs'][1]['data']['text/plain'], c['outputs'][2]['text']],
           [['read data/sample\n'], "PosixPath('nbs')", '<cell>:2: UserWarning: x\nin <tmp>/run\n'])
    print(f'selftest on {p.name} (depends on {", ".join(deps)}): {sum(results)} of {len(results)} as expected')
    return 0 if all(results) else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument('--check', action='store_true', help='report missing or stale outputs; exit 1 if any')
    g.add_argument('--update', action='store_true', help='execute the stale notebooks (or those named) and record their outputs')
    g.add_argument('--selftest', action='store_true', help='show on a copy that stale and missing outputs are caught')
    ap.add_argument('names', nargs='*', help='notebooks to update (stem or file name); default: the stale and missing ones')
    ap.add_argument('--all', action='store_true', help='update every notebook')
    ap.add_argument('--slow', action='store_true', help="also run the cells flagged 'slow' (long training), so their outputs are recorded too")
    ap.add_argument('--jobs', type=int, default=1, help='notebooks executed at a time (default 1)')
    ap.add_argument('--timeout', type=int, default=900, help='seconds one notebook may run (default 900)')
    a = ap.parse_args(argv)
    paths = notebooks(ROOT/'nbs')
    if a.check: return check(paths)
    if a.selftest: return selftest()
    if a.names:
        by = {p.stem: p for p in paths}
        unknown = [n for n in a.names if Path(n).stem not in by]
        if unknown: sys.exit(f'no such notebook in nbs/: {", ".join(unknown)}')
        paths = [by[Path(n).stem] for n in a.names]
    elif not a.all:
        paths = [p for p in paths if status(json.loads(p.read_text())) != 'fresh']
    if not paths: print('outputs: nothing to update'); return 0
    print(f'updating {len(paths)} notebooks: {" ".join(p.stem for p in paths)}')
    return update(paths, a.jobs, a.timeout, a.slow)


if __name__ == '__main__':
    sys.exit(main())
