#!/usr/bin/env bash
# Ingest benchmark: Sightline's load of an AMLSim-format transactions CSV against the sqlite3
# shell reaching a comparable end state, measured in one run on this machine.
#
#   scripts/bench-ingest.sh            # 1,000,000 rows, 100,000 accounts, append 100,000
#   ROWS=200000 APPEND=20000 REPEAT=1 scripts/bench-ingest.sh   # a quick look
#   CARGO_ARGS="--config ..." scripts/bench-ingest.sh             # extra arguments for cargo build
#   BUILD=0 scripts/bench-ingest.sh                                # use the release binaries as built
#
# Measures (best of REPEAT runs each, taking turns, files warm in the page cache):
#   sqlite3 bare     .import --csv into a table
#   sqlite3 indexed  .import, then a unique index on the transaction id and indexes on source,
#                    destination and timestamp
#   sightline        `ingest` (release build) into a new workspace: accounts interned, dedup on
#                    the transaction id, labels, the schema's indexes, validated rows
#   append           `ingest` of APPEND more rows into the workspace holding ROWS
# and prints the ratios. Needs sqlite3 on PATH and a Rust toolchain.
set -euo pipefail

ROWS=${ROWS:-1000000}
APPEND=${APPEND:-100000}
ACCOUNTS=${ACCOUNTS:-100000}
REPEAT=${REPEAT:-3}

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
command -v sqlite3 >/dev/null || { echo "bench-ingest: sqlite3 is not installed (apt-get install sqlite3)" >&2; exit 2; }

# CARGO_ARGS: extra words for `cargo build` (e.g. `--config` overrides on a shared machine).
read -r -a cargo_args <<<"${CARGO_ARGS:-}"
if [ "${BUILD:-1}" != 0 ]; then
  (cd "$root" && cargo build --quiet --release "${cargo_args[@]}" --example ingest --example gen_amlsim)
fi
bin=$target/release/examples
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ingest.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$bin/gen_amlsim" "$ROWS" "$ACCOUNTS" 1 "$work/transactions.csv"
"$bin/gen_amlsim" "$APPEND" "$ACCOUNTS" $((ROWS + 1)) "$work/append.csv"
cat "$work/transactions.csv" "$work/append.csv" >/dev/null # warm the page cache
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")

now_ns() { date +%s%N; }
# time_ns RESET CMD...: runs `RESET`, then CMD, and prints CMD's wall time in nanoseconds.
time_ns() {
  local reset=$1; shift
  $reset
  local s e
  s=$(now_ns); "$@" >/dev/null; e=$(now_ns)
  echo $((e - s))
}
# keep_best VAR NS: VAR = min(VAR, NS).
keep_best() { if [ -z "${!1}" ] || [ "$2" -lt "${!1}" ]; then printf -v "$1" %s "$2"; fi; }
# best_of NAME CMD...: runs CMD REPEAT times after `reset_NAME`, sets `best` to the best time.
best=""
measure() {
  local b=""
  for _ in $(seq "$REPEAT"); do keep_best b "$(time_ns "$@")"; done
  best=$b
}
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

reset_bare() { rm -f "$work/bare.db"; }
reset_idx() { rm -f "$work/idx.db"; }
reset_ws() { rm -rf "$work"/ws.*; }
reset_none() { :; }

# The three loads take turns within each repeat, so a change in the machine's load (it is
# shared) falls on all of them rather than on whichever ran last.
bare="" idx="" ours=""
for _ in $(seq "$REPEAT"); do
  keep_best bare "$(time_ns reset_bare sqlite3 "$work/bare.db" ".import --csv $work/transactions.csv t")"
  keep_best idx "$(time_ns reset_idx sqlite3 "$work/idx.db" ".import --csv $work/transactions.csv t" \
    "CREATE UNIQUE INDEX t_id ON t(tran_id)" "CREATE INDEX t_src ON t(orig_acct)" \
    "CREATE INDEX t_dst ON t(bene_acct)" "CREATE INDEX t_ts ON t(tran_timestamp)")"
  keep_best ours "$(time_ns reset_ws "$bin/ingest" --workspace "$work/ws.sqlite" --json "$work/transactions.csv")"
done

# Append: the 1M workspace is kept; each repeat appends to a fresh copy of it.
cp "$work/ws.sqlite" "$work/base.sqlite"
reset_append() { rm -rf "$work"/ws.*; cp "$work/base.sqlite" "$work/ws.sqlite"; }
measure reset_append "$bin/ingest" --workspace "$work/ws.sqlite" --json "$work/append.csv"
append=$best

loaded=$(sqlite3 "$work/ws.sqlite" "SELECT count(*) FROM transactions")
expected=$((ROWS + APPEND))
[ "$loaded" = "$expected" ] || { echo "bench-ingest: workspace holds $loaded transactions, expected $expected" >&2; exit 1; }
rss=""
if [ -x /usr/bin/time ]; then
  rm -rf "$work"/ws.*
  rss=$(/usr/bin/time -f %M "$bin/ingest" --workspace "$work/ws.sqlite" --json "$work/transactions.csv" 2>&1 >/dev/null | tail -1)
fi

echo "ingest benchmark: $ROWS AMLSim rows ($(du -m "$work/transactions.csv" | cut -f1) MB), $ACCOUNTS accounts, best of $REPEAT, $(nproc) cores, sqlite3 $(sqlite3 --version | cut -d' ' -f1)"
echo "1-minute load average: $load_start at the start, $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?") at the end"
printf '%-44s %8s\n' "run" "seconds"
printf '%-44s %8s\n' "sqlite3 .import (bare)" "$(secs "$bare")"
printf '%-44s %8s\n' "sqlite3 .import + 4 indexes" "$(secs "$idx")"
printf '%-44s %8s\n' "sightline ingest (indexed, dedup, validated)" "$(secs "$ours")"
printf '%-44s %8s\n' "sightline append $APPEND to $ROWS" "$(secs "$append")"
echo "speed-up vs .import + 4 indexes: $(ratio "$idx" "$ours")x (target >= 1.5x)"
echo "speed-up vs bare .import:        $(ratio "$bare" "$ours")x (stretch: >= 1.0x)"
echo "append rate:                      $(awk -v n="$APPEND" -v ns="$append" 'BEGIN { printf "%.0f", n / (ns / 1e9) }') rows/s"
[ -n "$rss" ] && echo "peak RSS of the $ROWS-row load:   $((rss / 1024)) MB (limit 300 MB)"
exit 0
