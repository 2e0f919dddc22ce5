#!/usr/bin/env bash
#
# layers.sh
#	Keep doc/architecture.md true: every src/*.c and src/*.h is in one
#	layer of its table; a file includes only headers of its own layer or
#	a lower one; and no src/*.c files call each other (or read each
#	other's globals) in a circle.  Prints what is wrong; exits 1 if
#	anything is.  Needs python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 - <<'PY'
import glob, os, re, sys

doc = open("doc/architecture.md").read()
rows = [l for l in doc.splitlines() if re.match(r"^\| \d+ ", l)]
layer = {}
for row in rows:
    n = int(row.split("|")[1].split()[0])
    for name in re.findall(r"`([\w.]+\.[ch])`", row):
        layer.setdefault(name, n)

bad = []
srcs = sorted(glob.glob("src/*.c")) + sorted(glob.glob("src/*.h"))
for path in srcs:
    if os.path.basename(path) not in layer:
        bad.append(f"{path}: in no layer of doc/architecture.md")
for name in layer:
    if not os.path.exists(os.path.join("src", name)):
        bad.append(f"doc/architecture.md names {name}, which src/ does not have")

def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)

for path in srcs:
    base = os.path.basename(path)
    if base not in layer:
        continue
    for inc in re.findall(r'^#include "([\w.]+)"', open(path).read(), flags=re.M):
        if inc in layer and layer[inc] > layer[base]:
            bad.append(f"{path} (layer {layer[base]}) includes {inc} (layer {layer[inc]})")

# who defines which name: functions (return type on its own line, as
# pgindent writes them) and globals, non-static
code = {p: strip(open(p).read()) for p in sorted(glob.glob("src/*.c"))}
defs = {}
for p, t in code.items():
    for m in re.finditer(r"^(?!static)[A-Za-z_][\w \t*]*\n(pgb_\w+)\(", t, flags=re.M):
        defs.setdefault(m.group(1), p)
    for m in re.finditer(r"^(?!static|extern|typedef)[A-Za-z_][\w \t*]*?\b(pgb_\w+)\s*(=[^;]*)?;", t, flags=re.M):
        defs.setdefault(m.group(1), p)
edges = {p: set() for p in code}
for p, t in code.items():
    for name in set(re.findall(r"\bpgb_\w+\b", t)):
        q = defs.get(name)
        if q and q != p:
            edges[p].add(q)
# cycles: depth-first search with colours
state = {}
def visit(p, stack):
    state[p] = 1
    stack.append(p)
    for q in sorted(edges[p]):
        if state.get(q) == 1:
            bad.append("cycle: " + " -> ".join(stack[stack.index(q):] + [q]))
        elif q not in state:
            visit(q, stack)
    stack.pop()
    state[p] = 2
for p in code:
    if p not in state:
        visit(p, [])

for b in bad:
    print("not ok - " + b)
print(f"{len(srcs)} files in {len(rows)} layers: " + ("ok" if not bad else f"{len(bad)} problems"))
sys.exit(1 if bad else 0)
PY
