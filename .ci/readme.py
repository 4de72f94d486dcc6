#!/usr/bin/env python3
"""README.md is generated from nbs/index.ipynb (nbdev_readme needs quarto, which CI cannot install).

    .venv/bin/python .ci/readme.py            # fill the results tables of nbs/index.ipynb, then write README.md
    .venv/bin/python .ci/readme.py --check    # exit 1 if a table or README.md is out of date
    python3 .ci/readme.py --command test|demo # print the README's one-line command of that name

Every table of results in the README is generated: a block `<!-- results:NAME -->` ... `<!-- /results:NAME -->`
in a markdown cell of nbs/index.ipynb holds `usenhance_nb.evidence.evidence_tables()[NAME]`, rendered from the
committed results file (nbs/results/evidence.json) that the measuring script wrote. Nobody types those numbers.
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]

INDEX = root/'nbs'/'index.ipynb'
BLOCK = re.compile(r'(<!-- results:(\w+) -->\n)(.*?)(<!-- /results:\2 -->)', re.S)

def fill(text, tables) -> str:
    "`text` with every results block's content replaced by the table of that name."
    def sub(m):
        if m.group(2) not in tables: sys.exit(f"nbs/index.ipynb: no results table named {m.group(2)!r} (have {sorted(tables)})")
        return m.group(1) + tables[m.group(2)].strip() + '\n' + m.group(4)
    return BLOCK.sub(sub, text)

def filled_index() -> tuple[dict, bool]:
    "nbs/index.ipynb with its results blocks filled from the committed results, and whether that changed it."
    nb = json.loads(INDEX.read_text(encoding='utf-8'))
    srcs = [''.join(c['source']) for c in nb['cells']]
    if not any(BLOCK.search(t) for t in srcs): return nb, False
    sys.path.insert(0, str(root))
    from usenhance_nb.evidence import evidence_tables, load_evidence  # the package renders them: one place for the format
    from usenhance_nb.findings import variants_markdown
    tables = {**course_tables(), **evidence_tables(), 'variants': variants_markdown(load_evidence())}
    changed = False
    for c, t in zip(nb['cells'], srcs):
        if c['cell_type'] != 'markdown': continue
        new = fill(t, tables)
        if new != t: c['source'], changed = new.splitlines(keepends=True), True
    return nb, changed

def _summary(nb) -> str:
    "A notebook's one-line summary (the `> ...` line of its title cell)."
    first = ''.join(nb['cells'][0]['source']) if nb['cells'] else ''
    m = re.search(r'^>\s*(.+)$', first, re.M)
    return m.group(1).strip() if m else ''

def course_tables() -> dict:
    "The course map: every notebook's summary, size (.ci/course.py) and measured run time (nbs/results/notebook_times.json)."
    sys.path.insert(0, str(root/'.ci'))
    import course
    times_file = root/'nbs'/'results'/'notebook_times.json'
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    def secs(name):  # with the slow cells where they were run: what a learner running every cell waits
        t = times.get(name, {})
        if 'seconds_with_slow' in t: return f"{t['seconds_with_slow']:.0f} (`slow` cells included)"
        return f"{t['seconds']:.0f}" if 'seconds' in t else 'not measured'
    rows = ['| step | notebook | what it teaches | code cells | lines of code | run time top to bottom, 2-core CPU (s) |',
            '|---|---|---|---|---|---|']
    nbs = sorted((root/'nbs').glob('*.ipynb'), key=lambda p: re.sub(r'\d+', lambda m: m.group().zfill(4), p.name))  # A9 before A10
    for p in nbs:
        if p.stem == 'index': continue
        m = course.measure(p)
        step = str(int(p.stem[:2])) if course.MAIN.match(p.name) else 'appendix'
        rows.append(f"| {step} | `{p.stem}` | {_summary(json.loads(p.read_text()))} | {m['cells']} | {m['lines']} | {secs(p.stem)} |")
    main = [times.get(p.stem, {}) for p in nbs if course.MAIN.match(p.name)]
    total = sum(t.get('seconds_with_slow', t.get('seconds', 0)) for t in main)
    note = (f"\nThe main path ran top to bottom in {total / 60:.1f} minutes of computing, `slow` cells included, each "
            "notebook in a fresh kernel, one at a time, measured by `docs/outputs.py --update` (on a machine that other "
            "jobs may have shared: upper bounds)." if main and all('seconds' in t or 'seconds_with_slow' in t for t in main) else '')
    return {'course': '\n'.join(rows) + '\n' + note}

def is_hidden(src): return re.search(r'^#\|\s*hide\b', src, re.M) is not None

def render(nb=None) -> str:
    "Markdown cells verbatim, visible code cells as python blocks with their text outputs."
    nb = nb or json.loads(INDEX.read_text(encoding='utf-8'))
    parts = ['<!-- Generated from nbs/index.ipynb by .ci/readme.py: edit the notebook, not this file. -->']
    for cell in nb['cells']:
        src = ''.join(cell['source']).strip()
        # links relative to nbs/ (figures in nbs/images/) must stay valid from the repository root
        if cell['cell_type'] == 'markdown': parts.append(re.sub(r'\]\((?!https?:|#|/)', '](nbs/', src))
        elif cell['cell_type'] == 'code' and src and not is_hidden(src):
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|'))
            parts.append(f"```python\n{code}\n```")
            for out in cell.get('outputs', []):
                text = out.get('text') or out.get('data', {}).get('text/plain')
                if text and 'image/png' not in out.get('data', {}): parts.append("    " + ''.join(text).rstrip().replace('\n', '\n    '))
    return '\n\n'.join(parts) + '\n'

def command(name, text) -> str:
    "The shell block after the marker `<!-- command:NAME -->`, joined into one line."
    m = re.search(rf'<!-- command:{name} -->\s*```(?:sh|bash)\n(.*?)```', text, re.S)
    if not m: sys.exit(f"README has no <!-- command:{name} --> block")
    return ' '.join(l.rstrip(' \\') for l in m.group(1).strip().splitlines())

if __name__ == '__main__':
    readme = root/'README.md'
    if '--command' in sys.argv: print(command(sys.argv[sys.argv.index('--command') + 1], readme.read_text(encoding='utf-8')))
    elif '--check' in sys.argv:
        nb, changed = filled_index()
        if changed: sys.exit("nbs/index.ipynb: a results table differs from nbs/results/evidence.json: run `.venv/bin/python .ci/readme.py`")
        if readme.read_text(encoding='utf-8') != render(nb):
            sys.exit("README.md is out of date with nbs/index.ipynb: run `.venv/bin/python .ci/readme.py`")
        print("README.md matches nbs/index.ipynb, and its tables the committed results")
    else:
        nb, changed = filled_index()
        if changed:
            INDEX.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8'); print(f"filled the results tables of {INDEX}")
        readme.write_text(render(nb), encoding='utf-8'); print(f"wrote {readme}")
