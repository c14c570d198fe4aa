#!/usr/bin/env bash
# Times Sightline's CSR kernels and python-igraph's C core on the same 1,000,000-edge graph, in
# one run (same machine, same moment): connected components, PageRank, label propagation.
# Needs `pip install igraph`. Usage: scripts/compare-igraph.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --example graph_kernels -q
edges="$(mktemp -d)/edges.txt"
"$CARGO_TARGET_DIR/release/examples/graph_kernels" "$edges"
python3 - "$edges" <<'PY'
import sys, time, resource
import igraph as ig

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def timed(name, f):
    w, c = time.perf_counter(), cpu()
    out = f()
    print(f"igraph {name:<20} wall {time.perf_counter() - w:>7.3f} s  cpu {cpu() - c:>7.3f} s")
    return out

edges = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
n = 200_000
g = timed("build graph", lambda: ig.Graph(n=n, edges=edges, directed=True))
u = g.as_undirected(mode="each")
comps = timed("components", lambda: u.connected_components())
print(f"       components: {len(comps)}")
pr = timed("pagerank", lambda: g.pagerank(damping=0.85))
lpa = timed("label propagation", lambda: u.community_label_propagation())
truth = [v // 200 for v in range(n)]
print(f"       label propagation: {len(lpa)} communities, NMI vs planted "
      f"{ig.compare_communities(lpa.membership, truth, method='nmi'):.4f}")
PY
