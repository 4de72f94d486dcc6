#!/usr/bin/env python
"""Build the course's documentation site offline, from the notebooks, with pip-installable tools only.

    .venv/bin/python docs/build.py [--out _site] [--execute]

The GitHub deploy workflow builds the published site with `nbdev_docs` (quarto). Quarto is a binary that
cannot be pip-installed, so this script builds an equivalent browsable site from the same notebooks:

1. take the notebooks in `nbs/` with the outputs they are committed with (`docs/outputs.py --check` makes sure
   they are fresh; the build refuses stale ones), as nbdev's quarto build does; or, with `--execute`,
   execute every notebook in `nbs/` top to bottom in a Jupyter kernel of this Python (`nbclient`), the way
   `nbdev_test` runs them: in the notebook's folder, skipping `#| eval: false` cells and cells flagged with a
   `tst_flags` flag of settings.ini (`slow`, `gpu`), with USENHANCE_OFFLINE=1 and USENHANCE_STATIC=1 (widgets
   render as static figures). The notebooks' own tests run here, so a failing test fails the build. The
   figures and tables the notebooks make become outputs;
2. process the executed notebooks with nbdev's own doc processors (`FilterDefaults`, exactly what
   `nbdev_proc_nbs` and `nbdev_docs` run): `show_doc` cells for every exported symbol, hidden and exported
   cells removed, front matter from the title cell, links to the API. They are written to `_proc/`;
3. turn nbdev's quarto-specific bits into plain notebook form (front matter back into an H1 title,
   `#| echo: false` into a `remove_input` tag, quarto link attributes into HTML, links to the published
   site into relative links) and strip the metadata that is not part of the nbformat schema, so each
   notebook validates; they go to `_proc/_mkdocs/docs/`, named like the quarto pages (`core.html`, ...);
4. write `_proc/_mkdocs/mkdocs.yml` (material theme, sidebar in teaching order, mkdocs-jupyter) and run
   `mkdocs build` into `--out`, with MathJax served from the site itself (jupyter-server-mathjax) so the maths
   renders offline. `docs-manifest.json` in the site lists the pages and the figures each should show, for
   `docs/check.py`.
"""
import argparse, asyncio, json, os, re, shutil, subprocess, sys, time, traceback, warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = 'usenhance-nb-docs'
IMAGE_MIMES = ('image/png', 'image/jpeg', 'image/svg+xml', 'image/gif')


def log(*a): print(*a, flush=True)


# ---------------------------------------------------------------- settings and notebooks
def settings(nbs=None):
    os.chdir(ROOT)
    from nbdev.config import get_config
    cfg = get_config()
    return dict(nbs=Path(nbs).resolve() if nbs else Path(cfg.nbs_path), title=cfg.get('title', cfg.lib_name), description=cfg.get('description', ''),
                doc_url=(cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/') + '/',
                git_url=cfg.get('git_url', ''), tst_flags=set(cfg.get('tst_flags', '').split()))


def notebooks(nbs):
    "The course notebooks in teaching order: index first, then by file name, numbers compared as numbers (A9 before A10)."
    nbs_ = [p for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.'))]
    return sorted(nbs_, key=lambda p: (p.stem != 'index', natural(p.name)))


def natural(name: str) -> str:
    "`name` with every number zero-padded, so that text order is number order."
    return re.sub(r'\d+', lambda m: m.group().zfill(4), name)


# ---------------------------------------------------------------- 1. execute
def _skip(cell, flags):
    "True for the cells `nbdev_test` does not run."
    from nbdev.process import extract_directives
    if cell.cell_type != 'code': return False
    if 'nbdev_export' + '(' in cell.source: return True
    d = extract_directives(cell, remove=False)
    if d.get('eval:', [''])[0].lower() == 'false': return True
    return bool(flags & d.keys())


def kernelspec(build):
    "A kernelspec that runs this very Python (the venv's), found first through JUPYTER_PATH."
    d = build/'jupyter'/'kernels'/KERNEL
    d.mkdir(parents=True, exist_ok=True)
    (d/'kernel.json').write_text(json.dumps(dict(
        argv=[sys.executable, '-Xfrozen_modules=off', '-m', 'ipykernel_launcher', '-f', '{connection_file}',
              '--IPKernelApp.log_level=ERROR'],  # not its 'running over TCP' warning, once per notebook
        display_name='Python 3 (usenhance-nb docs)', language='python', metadata={'debugger': False}), indent=1))
    os.environ['JUPYTER_PATH'] = os.pathsep.join([str(build/'jupyter')] + [p for p in os.environ.get('JUPYTER_PATH', '').split(os.pathsep) if p])


TIMES = {}  # notebook file name -> seconds its execution took (docs/outputs.py records them)


async def _execute_one(path, dst, flags, timeout, sem):
    import nbformat
    from nbclient import NotebookClient
    async with sem:
        nb = nbformat.read(path, as_version=4)
        skipped = [c for c in nb.cells if _skip(c, flags)]
        for c in skipped: c.metadata.setdefault('tags', []).append('skip-execution')
        client = NotebookClient(nb, kernel_name=KERNEL, timeout=timeout, startup_timeout=180, allow_errors=False,
                                record_timing=False, skip_cells_with_tag='skip-execution',
                                resources={'metadata': {'path': str(path.parent)}})
        t0 = time.time()
        err = None
        try: await asyncio.wait_for(client.async_execute(), timeout)  # shuts its kernel down, also when cancelled
        except asyncio.TimeoutError: err = f'timed out after {timeout} s'
        except Exception as e: err = re.sub(r'\x1b\[[0-9;]*m', '', f'{type(e).__name__}: {e}')  # no colour codes in logs
        for c in skipped:
            c.metadata.tags.remove('skip-execution')
            if not c.metadata.tags: del c.metadata['tags']
        nbformat.write(nb, dst)
        TIMES[path.name] = time.time() - t0
        log(f'  {"FAILED" if err else "ok":6} {path.name} executed in {time.time() - t0:.0f} s ({len(skipped)} cells skipped as in nbdev_test)')
        return path, err


async def _execute_all(paths, exec_dir, flags, jobs, timeout):
    sem = asyncio.Semaphore(jobs)
    return await asyncio.gather(*[_execute_one(p, exec_dir/p.name, flags, timeout, sem) for p in paths])


def execute(paths, build, flags, jobs, timeout):
    exec_dir = build/'_executed'
    if exec_dir.exists(): shutil.rmtree(exec_dir)
    exec_dir.mkdir(parents=True)
    kernelspec(build)
    env = dict(USENHANCE_OFFLINE='1', USENHANCE_STATIC='1',
               # the kernel draws figures with matplotlib's inline backend (PNG outputs); Agg would draw nothing
               MPLBACKEND='module://matplotlib_inline.backend_inline', PYDEVD_DISABLE_FILE_VALIDATION='1')
    # notebooks run `jobs` at a time: give each its share of the cores instead of oversubscribing them
    if not os.environ.get('OMP_NUM_THREADS'): env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // jobs))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try: res = asyncio.run(_execute_all(paths, exec_dir, flags, jobs, timeout))
    finally:
        for k, v in saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
    return exec_dir, [(p, e) for p, e in res if e]


# ---------------------------------------------------------------- 2. nbdev's doc processing
def _nbdev_proc(src, dst, cwd):
    "What `nbdev_proc_nbs` does to one notebook (nbdev.serve_drv.main), run from the repository root as it is."
    os.chdir(cwd)
    os.environ['IN_TEST'] = '1'
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from nbdev.processors import FilterDefaults
    from nbdev.serve_drv import exec_nb
    main = sys.modules['__main__']  # nbdev's IPython shell replaces it; this worker needs it back for the next task
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try:
            exec_nb(Path(src), Path(dst), FilterDefaults)
            return None
        except Exception as e:
            msg = ''.join(traceback.format_exception_only(type(e), e)).strip()
            if e.__cause__ is not None: msg += f'\n    caused by {type(e.__cause__).__name__}: {e.__cause__}'
            if any('imports and other code' in str(w.message) for w in ws):
                msg += ('\n    hint: nbdev runs every cell that contains an import when it builds the docs (exec_show_docs), '
                        'out of order; put the import lines of that cell in a cell of their own')
            return msg
        finally: sys.modules['__main__'] = main


def nbdev_process(srcs, build, cwd, jobs):
    ctx = get_context('spawn')  # as proc_nbs: a fresh interpreter per worker
    with ProcessPoolExecutor(jobs, mp_context=ctx) as ex:
        futs = [(s, ex.submit(_nbdev_proc, str(s), str(build/s.name), str(cwd))) for s in srcs]
        errs = []
        for s, f in futs:
            e = f.result()
            log(f'  {"FAILED" if e else "ok":6} {s.name} processed')
            if e: errs.append((s, e))
    return errs


# ---------------------------------------------------------------- 3. clean for mkdocs-jupyter
_re_quarto_link = re.compile(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}')
_re_attr = re.compile(r'([\w-]+)="([^"]*)"')


def _html_link(m):
    attrs = ''.join(f' {k}="{v}"' for k, v in _re_attr.findall(m.group(3)))
    return f'<a href="{m.group(2)}"{attrs}>{m.group(1)}</a>'


_re_fence = re.compile(r'(```.*?```)', re.S)
_re_md_link = re.compile(r'\[([^\]]*)\]\([^)\s]+\)')


def _fix_text(s, doc_url, pages):
    "Quarto link attributes to HTML; links to the published site or to notebooks to this site's pages."
    # nbdev links names in show_doc's signature comments too; in a code block that is literal text: keep the name
    s = ''.join(_re_md_link.sub(r'\1', o) if i % 2 else o for i, o in enumerate(_re_fence.split(s)))
    s = _re_quarto_link.sub(_html_link, s)
    if doc_url != '/': s = s.replace(doc_url, '')
    for nb_name, page in pages.items(): s = re.sub(rf'(?<![\w/.]){re.escape(nb_name)}(?=[)#"\s])', page, s)
    return s


def _frontmatter(cell):
    import yaml
    src = cell.source.strip()
    if cell.cell_type != 'raw' or not src.startswith('---'): return None
    return yaml.safe_load(src.strip('-\n')) or {}


def clean(src, dst, doc_url, pages):
    """nbdev's processed notebook -> a schema-valid notebook that mkdocs-jupyter renders like quarto would.
    Returns (title, number of figures, number of show_doc entries)."""
    import nbformat
    nb = nbformat.read(src, as_version=4)
    title, cells, n_img, n_api = None, [], 0, 0
    for cell in nb.cells:
        cell.pop('id', None)
        if 'source' not in cell: cell['source'] = ''
        fm = _frontmatter(cell)
        if fm is not None:
            title = fm.get('title', title)
            md = f'# {title}\n' if title else ''
            if fm.get('description'): md += f'\n> {fm["description"]}\n'
            cells.append(nbformat.v4.new_markdown_cell(md))
            continue
        if cell.cell_type == 'raw': continue
        if cell.cell_type == 'markdown':
            if not cell.source.strip(): continue
            md = nbformat.v4.new_markdown_cell(_fix_text(cell.source, doc_url, pages))
            if cell.get('attachments'): md['attachments'] = cell['attachments']
            cells.append(md)
            continue
        # code cell: quarto's cell options (`#| echo: false`, `#| output: asis`, ...) become tags or go away
        lines = cell.source.splitlines(keepends=True)
        opts = {}
        while lines and lines[0].startswith('#|'):
            k, _, v = lines.pop(0)[2:].partition(':')
            opts[k.strip()] = v.strip().lower()
        if opts.get('include') == 'false': continue
        outputs = [] if opts.get('output') == 'false' else cell.get('outputs', [])
        source = ''.join(lines).strip('\n')
        if not source and not outputs: continue
        new = nbformat.v4.new_code_cell(source, execution_count=cell.get('execution_count'))
        tags = [t for t in cell.get('metadata', {}).get('tags', []) if t != 'skip-execution']
        if opts.get('echo') == 'false': tags.append('remove_input')
        if tags: new.metadata['tags'] = tags
        for o in outputs:
            o.pop('transient', None)
            if o.get('output_type') in ('display_data', 'execute_result'):
                data = o.setdefault('data', {})
                o.setdefault('metadata', {})
                for k in ('text/markdown', 'text/html'):
                    if k in data:
                        v = data[k] if isinstance(data[k], str) else ''.join(data[k])
                        data[k] = _fix_text(v, doc_url, pages)
                if 'application/vnd.jupyter.widget-view+json' in data and len(data) > 1:
                    del data['application/vnd.jupyter.widget-view+json']  # no live kernel here: the static fallback
                n_img += any(k in data for k in IMAGE_MIMES)
                n_api += source.startswith('show_doc') and 'text/markdown' in data
            new.outputs.append(o)
        cells.append(new)
    for i, c in enumerate(cells): c['id'] = f'cell-{i}'
    nb.cells = cells
    nb.metadata = nbformat.from_dict(dict(
        kernelspec=dict(name='python3', display_name='Python 3', language='python'),
        language_info=dict(name='python')))
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    nbformat.write(nb, dst)
    return title or src.stem, n_img, n_api


# ---------------------------------------------------------------- 4. mkdocs
def mkdocs_config(st, nav, docs_dir, site_dir, mathjax):
    plugin = {'include_source': True, 'execute': False, 'allow_errors': False, 'include_requirejs': False,
              'cache': False, 'remove_tag_config': {'remove_input_tags': ['remove_input']}}
    # MathJax 2 as the classic notebook ships it (HTML-CSS output, STIX-Web fonts), configured by MATHJAX_CONFIG
    if mathjax: plugin['custom_mathjax_url'] = 'assets/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/site'
    plugin['no_prompt'] = True  # no In [ ]/Out[ ] prompts, as on the quarto site
    return {
        'site_name': st['title'], 'site_description': st['description'],
        'docs_dir': str(docs_dir), 'site_dir': str(site_dir),
        'use_directory_urls': False,  # pages are core.html, data.html, ... as on the quarto site
        'theme': {'name': 'material', 'font': False, 'custom_dir': 'overrides',  # no web fonts: the site must work offline
                  'features': ['navigation.top', 'toc.follow', 'content.code.copy'],
                  'palette': {'primary': 'indigo'}},
        'extra_css': ['assets/extra.css'],
        'nav': [{t: f} for t, f in nav],
        'plugins': ['search', {'mkdocs-jupyter': plugin}],
    }


# the notebook behind each page, downloadable from a button at its top (mkdocs-jupyter's include_source)
MAIN_HTML = """{% extends "base.html" %}
{% block content %}
{% if page.nb_url %}
<a href="{{ page.nb_url.split('/') | last }}" title="Download this notebook" class="md-content__button md-icon" download>
  {% include ".icons/material/download.svg" %}
</a>
{% endif %}
{{ super() }}
{% endblock content %}
"""
MATHJAX_CONFIG = """MathJax.Hub.Config({MMLorHTML: {prefer: "HTML"},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/site.js");
"""
EXTRA_CSS = """/* notebook pages: keep the theme's width, API docs (show_doc) readable */
.jp-RenderedMarkdown table { display: table; font-size: .75rem; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.jupyter-wrapper .jp-RenderedMarkdown .highlight pre { white-space: pre; word-break: normal; overflow-x: auto; }
.MathJax_Display { overflow-x: auto; overflow-y: hidden; }
/* MathJax's hidden MathML copy (for screen readers) would fetch TeX web fonts that the offline MathJax lacks */
.MJX_Assistive_MathML [mathvariant] { font-family: inherit !important; }
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='_site', help='folder the site is written to (default: _site)')
    ap.add_argument('--build', default='_proc', help='working folder: processed notebooks, mkdocs.yml (default: _proc)')
    ap.add_argument('--execute', action='store_true', help='run the notebooks again instead of using their committed outputs')
    ap.add_argument('--jobs', type=int, default=2, help='notebooks executed / processed at a time (default: 2)')
    ap.add_argument('--nbs', help='notebooks folder (default: nbs_path of settings.ini)')
    ap.add_argument('--timeout', type=int, default=600, help='seconds one notebook may run (default: 600)')
    a = ap.parse_args(argv)
    t00 = time.time()
    st = settings(a.nbs and Path(a.nbs).resolve())  # chdir ROOT
    out, build = (ROOT/a.out).resolve(), (ROOT/a.build).resolve()
    paths = notebooks(st['nbs'])
    if not paths: sys.exit(f'no notebooks in {st["nbs"]}')
    # both folders are emptied: never let that be the repository, the notebooks, or a folder that holds them
    for d, what in ((out, '--out'), (build, '--build')):
        if d == st['nbs'].resolve() or ROOT.is_relative_to(d) or st['nbs'].resolve().is_relative_to(d) or (d/'settings.ini').exists():
            sys.exit(f'refusing {what} {d}: it would delete sources; use a build folder such as _site or _proc')
    if out.exists() and any(out.iterdir()) and not (out/'index.html').exists():
        sys.exit(f'refusing --out {out}: it is not empty and holds no site to replace')
    build.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    failed = []

    if not a.execute:
        sys.path.insert(0, str(ROOT/'docs'))
        from outputs import status
        stale = [(p.name, s) for p in paths if (s := status(json.loads(p.read_text()))) != 'fresh']
        if stale:
            log('docs build FAILED: outputs ' + ', '.join(f'{n} ({s})' for n, s in stale) + ': run docs/outputs.py --update, or build with --execute')
            return 1
        log(f'== 1. the {len(paths)} notebooks with their committed outputs (all fresh; --execute runs them again)')
        srcs = paths
    else:
        log(f'== 1. execute {len(paths)} notebooks, {a.jobs} at a time (kernel: {sys.executable})')
        t0 = time.time()
        exec_dir, errs = execute(paths, build, st['tst_flags'], a.jobs, a.timeout)
        for p, e in errs: log(f'\nERROR executing {p.name}:\n{e}\n')
        failed += [p for p, _ in errs]
        srcs = [exec_dir/p.name for p in paths]
        log(f'   took {time.time() - t0:.0f} s')

    log(f'== 2. nbdev doc processing (show_doc, hidden cells, front matter) into {build.relative_to(ROOT) if build.is_relative_to(ROOT) else build}/')
    t0 = time.time()
    for p in build.glob('*.ipynb'): p.unlink()
    errs = nbdev_process(srcs, build, ROOT, a.jobs)
    for p, e in errs: log(f'\nERROR processing {p.name} (nbdev_proc_nbs and nbdev_docs fail the same way):\n  {e}\n')
    failed += [p for p, _ in errs]
    log(f'   took {time.time() - t0:.0f} s')
    if failed:
        log(f'\ndocs build FAILED: {", ".join(sorted({p.name for p in failed}))}')
        return 1

    log('== 3. clean the processed notebooks for mkdocs-jupyter (nbformat-valid)')
    mk = build/'_mkdocs'
    docs_dir = mk/'docs'
    if mk.exists(): shutil.rmtree(mk)
    (docs_dir/'assets').mkdir(parents=True)
    (docs_dir/'assets'/'extra.css').write_text(EXTRA_CSS)
    if (st['nbs']/'images').is_dir(): shutil.copytree(st['nbs']/'images', docs_dir/'images')  # figures pages link to
    (mk/'overrides').mkdir()
    (mk/'overrides'/'main.html').write_text(MAIN_HTML)
    page_of = {p.name: ('index' if p.stem == 'index' else re.sub(r'^(\d+[a-z]?|A\d+)_', '', p.stem)) for p in paths}
    # nbdev names the page after the front matter's output-file; read it from the processed notebook
    for p in paths:
        nb = json.loads((build/p.name).read_text())
        for c in nb['cells']:
            if c['cell_type'] == 'raw' and ''.join(c['source']).lstrip().startswith('---'):
                m = re.search(r'^output-file:\s*(\S+)\.html\s*$', ''.join(c['source']), re.M)
                if m: page_of[p.name] = m.group(1)
                break
    links = {n: f'{s}.html' for n, s in page_of.items()}
    nav, manifest = [], []
    for p in paths:
        title, n_img, n_api = clean(build/p.name, docs_dir/f'{page_of[p.name]}.ipynb', st['doc_url'], links)
        nav.append((title, f'{page_of[p.name]}.ipynb'))
        manifest.append(dict(page=f'{page_of[p.name]}.html', notebook=f'{st["nbs"].name}/{p.name}', title=title, figures=n_img, api=n_api))
        log(f'  {p.name:24} -> {page_of[p.name] + ".html":20} {n_img:2} figures {n_api:2} API entries  "{title}"')
    if not sum(m['figures'] for m in manifest):
        log('docs build FAILED: the notebooks carry no figure at all'); return 1

    try:
        import jupyter_server_mathjax
        mj = Path(jupyter_server_mathjax.__file__).parent/'static'
        shutil.copytree(mj, docs_dir/'assets'/'mathjax', ignore=shutil.ignore_patterns('*.md', 'unpacked', 'test'))
        (docs_dir/'assets'/'mathjax'/'config'/'local').mkdir(exist_ok=True)
        (docs_dir/'assets'/'mathjax'/'config'/'local'/'site.js').write_text(MATHJAX_CONFIG)
        mathjax = True
    except ImportError:
        log('  (jupyter-server-mathjax not installed: the maths will load MathJax from its CDN)')
        mathjax = False

    import yaml
    cfg = mkdocs_config(st, nav, docs_dir, out, mathjax)
    (mk/'mkdocs.yml').write_text('# generated by docs/build.py: do not edit, do not commit\n' + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))

    log(f'== 4. mkdocs build -> {out}')
    t0 = time.time()
    if out.exists(): shutil.rmtree(out)
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--quiet', '-f', str(mk/'mkdocs.yml')], cwd=mk,
                       env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    if r.returncode:
        log('docs build FAILED: mkdocs build'); return r.returncode
    (out/'docs-manifest.json').write_text(json.dumps(dict(executed=True, pages=manifest), indent=1))  # outputs, run here or committed
    log(f'   took {time.time() - t0:.0f} s')
    log(f'docs: built {len(manifest)} pages, {sum(m["figures"] for m in manifest)} figures, into {out} in {time.time() - t00:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
