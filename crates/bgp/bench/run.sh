#!/usr/bin/env bash
# Side-by-side BGP load benchmark: hl-bgpd, FRR bgpd, BIRD 2 and GoBGP receive the same
# pre-encoded UPDATE streams (examples/bench_targets.rs), each target in its own scratch network
# namespace; prints one table. Needs root and the Debian packages frr, bird2, gobgpd.
#
#   crates/bgp/bench/run.sh [--targets "hl bird frr gobgp"] [--cases "shared distinct peers"]
#                           [--timeout SECS] [--poll-ms MS] [--no-kernel] [--no-build] [--out DIR]
#
# Per target and case: namespaces hl-bgpbench-<target>-<case> (the daemon, 198.18.0.1/24) and
# hl-bgpbench-<target>-<case>-tx (the tester, 198.18.0.2-11/24) joined by a veth pair; a fresh
# daemon; both namespaces (and anything still running in them) removed afterwards, also when the
# script fails or is interrupted. `--no-kernel` skips the extra hl-bgpd run that installs the
# 1,000,000 routes of the first case into the kernel.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
targets="hl bird frr gobgp"
cases="shared distinct peers"
timeout=120
poll_ms=10
kernel=1
build=1
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --targets) targets=$2; shift 2 ;;
        --cases) cases=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --poll-ms) poll_ms=$2; shift 2 ;;
        --no-kernel) kernel=0; shift ;;
        --no-build) build=0; shift ;;
        --out) out=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces)" >&2; exit 2; }
for c in ip /usr/lib/frr/bgpd vtysh bird birdc gobgpd gobgp; do
    command -v "$c" >/dev/null || { echo "run.sh: $c missing (apt-get install frr bird2 gobgpd)" >&2; exit 2; }
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target-bgpbench}
if [ "$build" = 1 ]; then
    (cd "$root" && cargo build --release -p bgp --bin hl-bgpd --example bench_targets)
fi
bin=$CARGO_TARGET_DIR/release
out=${out:-$(mktemp -d /tmp/hl-bgpbench.XXXXXX)}
mkdir -p "$out"
chmod 755 "$out"   # FRR's zebra runs as user frr and needs to reach its directory
results=$out/results.txt
: > "$results"

created=()
cleanup_ns() {
    local ns
    for ns in "$@"; do
        if ip netns list | grep -qx "$ns\( (id: [0-9]*)\)\?"; then
            # Only processes this script started live in these namespaces.
            for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}
cleanup() { [ ${#created[@]} -eq 0 ] || cleanup_ns "${created[@]}"; created=(); }
trap cleanup EXIT
trap 'exit 130' INT TERM

# run TARGET CASE [extra bench_targets arguments...]
run() {
    local t=$1 c=$2; shift 2
    local ns=hl-bgpbench-$t-$c tx=hl-bgpbench-$t-$c-tx dir=$out/$t-$c
    [ "${1:-}" = --kernel ] && { ns=hl-bgpbench-$t-kernel; tx=$ns-tx; dir=$out/$t-kernel; }
    cleanup_ns "$ns" "$tx"
    created+=("$ns" "$tx")
    ip netns add "$ns"
    ip netns add "$tx"
    ip link add tgt netns "$ns" type veth peer name tst netns "$tx"
    ip -n "$ns" link set lo up
    ip -n "$tx" link set lo up
    ip -n "$ns" addr add 198.18.0.1/24 dev tgt
    for i in $(seq 2 11); do ip -n "$tx" addr add "198.18.0.$i/24" dev tst; done
    ip -n "$ns" link set tgt up
    ip -n "$tx" link set tst up
    rm -rf "$dir"; mkdir -p "$dir"
    echo "== $t $c $* ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
    local line
    if line=$(ip netns exec "$tx" "$bin/examples/bench_targets" --target "$t" --case "$c" \
            --netns "$ns" --dir "$dir" --hl-bgpd "$bin/hl-bgpd" --timeout "$timeout" \
            --poll-ms "$poll_ms" "$@" 2>"$dir/bench.err" | grep '^RESULT'); then
        echo "$line" | tee -a "$results" >&2
    else
        echo "RESULT target=$t case=$c failed=yes" | tee -a "$results" >&2
        tail -5 "$dir/bench.err" >&2 || true
    fi
    cleanup_ns "$ns" "$tx"
    created=()
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores, $(uname -r)"
    echo "hl-bgpd: commit $(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git status --porcelain --untracked-files=no | grep -q . && echo ', working tree with uncommitted changes')"
    echo "bird: $(bird --version 2>&1 | head -1)"
    echo "frr: $(/usr/lib/frr/bgpd --version 2>&1 | head -1)"
    echo "gobgp: $(gobgpd --version 2>&1 | head -1)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"

for c in $cases; do
    for t in $targets; do
        run "$t" "$c"
    done
done
if [ "$kernel" = 1 ] && [[ " $targets " == *" hl "* ]]; then
    run hl shared --kernel
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# The table: time (Established -> every prefix in the Loc-RIB) / peak RSS per target and case,
# and hl-bgpd's ratio to BIRD. "> N s" means the target had not finished after the timeout.
awk -v targets="$targets" -v cases="$cases" '
function kv(line, key,   a, i, n, p) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) { p = index(a[i], "="); if (substr(a[i], 1, p - 1) == key) return substr(a[i], p + 1) }
    return ""
}
function cell(t, c,   l) {
    l = res[t, c]
    if (l == "") return "not run"
    if (kv(l, "failed") == "yes") return "failed"
    if (kv(l, "complete") != "yes") return sprintf("> %d s (%s of %s) / %.0f MiB", kv(l, "time_s"), kv(l, "seen"), kv(l, "prefixes"), kv(l, "rss_mib"))
    return sprintf("%.3f s / %.0f MiB", kv(l, "time_s"), kv(l, "rss_mib"))
}
function xcell(t, c,   l) {
    l = res[t, c]
    if (l == "" || kv(l, "export_s") == "") return "-"
    if (kv(l, "export_complete") != "yes") return sprintf("> %d s", kv(l, "export_s"))
    return sprintf("%.3f s", kv(l, "export_s"))
}
function ratio(c, key, done,   h, b) {
    h = res["hl", c]; b = res["bird", c]
    if (h == "" || b == "" || kv(h, done) != "yes" || kv(b, done) != "yes") return "-"
    return sprintf("%.2f", kv(h, key) / kv(b, key))
}
/^RESULT/ {
    t = kv($0, "target"); c = kv($0, "case")
    if (kv($0, "kernel_s") != "") kernel = $0; else res[t, c] = $0
}
END {
    nt = split(targets, T, " "); nc = split(cases, C, " ")
    name["hl"] = "hl-bgpd"; name["bird"] = "BIRD"; name["frr"] = "FRR bgpd"; name["gobgp"] = "GoBGP"
    label["shared"] = "1,000,000 /24, one shared path"
    label["distinct"] = "1,000,000 /24, 100,000 AS_PATHs"
    label["peers"] = "10 peers x 100,000 /24"
    printf "| case |"; for (i = 1; i <= nt; i++) printf " %s |", name[T[i]]
    print " hl/BIRD time | hl/BIRD RSS |"
    printf "|---|"; for (i = 1; i <= nt; i++) printf "---|"; print "---|---|"
    for (j = 1; j <= nc; j++) {
        printf "| %s |", label[C[j]]
        for (i = 1; i <= nt; i++) printf " %s |", cell(T[i], C[j])
        printf " %s | %s |\n", ratio(C[j], "time_s", "complete"), ratio(C[j], "rss_mib", "complete")
        if (C[j] == "peers") {
            printf "| %s: every tester has the other 900,000 |", label[C[j]]
            for (i = 1; i <= nt; i++) printf " %s |", xcell(T[i], C[j])
            printf " %s | |\n", ratio(C[j], "export_s", "export_complete")
        }
    }
    if (kernel != "")
        printf "\nhl-bgpd, 1,000,000 /24 into the kernel: Loc-RIB %.3f s, kernel %s%.3f s, peak RSS %.0f MiB\n",
            kv(kernel, "time_s"), kv(kernel, "kernel_complete") == "yes" ? "" : "> ", kv(kernel, "kernel_s"), kv(kernel, "kernel_rss_mib")
}' "$results" | tee "$out/table.md"
echo
cat "$out/env.txt"
echo "raw results: $results"
