#!/usr/bin/env python3
"""README.md is generated from nbs/index.ipynb (nbdev_readme needs quarto, which CI cannot install).

    python .ci/readme.py            # write README.md
    python .ci/readme.py --check    # exit 1 if README.md is out of date
    python .ci/readme.py --command test|demo   # print the README's one-line command of that name
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def is_hidden(src): return re.search(r'^#\|\s*hide\b', src, re.M) is not None

def render(nb_path=root/'nbs'/'index.ipynb') -> str:
    "Markdown cells verbatim, visible code cells as python blocks with their text outputs."
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
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
        if readme.read_text(encoding='utf-8') != render():
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python .ci/readme.py`")
        print("README.md matches nbs/index.ipynb")
    else: readme.write_text(render(), encoding='utf-8'); print(f"wrote {readme}")
