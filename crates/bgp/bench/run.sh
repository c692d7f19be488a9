#!/usr/bin/env bash
# Side-by-side BGP load benchmark: hl-bgpd, FRR bgpd, BIRD 2 and GoBGP receive the same
# pre-encoded UPDATE streams (examples/bench_targets.rs), each target in its own scratch network
# namespace; prints one table. Needs root and the Debian packages frr, bird2, gobgpd.
#
#   crates/bgp/bench/run.sh [--targets "hl bird frr gobgp"] [--cases "shared distinct peers kernel"]
#                           [--timeout SECS] [--poll-ms MS] [--prefixes N] [--kernel-poll-ms MS]
#                           [--kernel-rounds N] [--no-kernel] [--no-build] [--out DIR]
#
# Per target and case: namespaces hl-bgpbench-<target>-<case> (the daemon, 198.18.0.1/24) and
# hl-bgpbench-<target>-<case>-tx (the tester, 198.18.0.2-11/24) joined by a veth pair; a fresh
# daemon; both namespaces (and anything still running in them) removed afterwards, also when the
# script fails or is interrupted.
#
# The `kernel` case (hl and bird only; `--prefixes N`, default 1,000,000, `--no-kernel` drops
# it) installs the routes into the daemon namespace's main table with nobody talking to the
# daemon; completion is read from the kernel, from outside the daemon (a lookup of the last
# prefix every `--kernel-poll-ms`, default 50, and the table's prefix count from fib_triestat;
# see examples/bench_targets.rs). It runs last, in `--kernel-rounds` (3) rounds of hl-bgpd
# then BIRD, so that both see the same stretch of a shared machine's load; its own table gives
# every round and the medians.
#
# Exit status 1 when any run could not be carried out (its cell says "failed"); a target that
# ran but did not finish within the timeout is a result ("> N s"), not a failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
targets="hl bird frr gobgp"
cases="shared distinct peers kernel"
timeout=120
poll_ms=10
prefixes=""
kernel_poll_ms=50
kernel_rounds=3
kernel=1
build=1
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --targets) targets=$2; shift 2 ;;
        --cases) cases=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --poll-ms) poll_ms=$2; shift 2 ;;
        --prefixes) prefixes=$2; shift 2 ;;
        --kernel-poll-ms) kernel_poll_ms=$2; shift 2 ;;
        --kernel-rounds) kernel_rounds=$2; shift 2 ;;
        --no-kernel) kernel=0; shift ;;
        --no-build) build=0; shift ;;
        --out) out=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

# The kernel case runs on its own, after the others.
[[ " $cases " == *" kernel "* ]] || kernel=0
cases=$(echo " $cases " | sed 's/ kernel / /g; s/^ *//; s/ *$//')
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
failures=0

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

# run TARGET CASE TAG [extra bench_targets arguments...]; TAG is appended to the RESULT line
run() {
    local t=$1 c=$2 tag=$3; shift 3
    local ns=hl-bgpbench-$t-$c tx=hl-bgpbench-$t-$c-tx dir=$out/$t-$c${tag:+-${tag#*=}}
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
        echo "$line${tag:+ $tag}" | tee -a "$results" >&2
    else
        echo "RESULT target=$t case=$c failed=yes${tag:+ $tag}" | tee -a "$results" >&2
        tail -5 "$dir/bench.err" >&2 || true
        failures=$((failures + 1))
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
        run "$t" "$c" ""
    done
done
if [ "$kernel" = 1 ]; then
    # Kernel install: hl-bgpd and BIRD only, alternating.
    for r in $(seq 1 "$kernel_rounds"); do
        for t in $targets; do
            case "$t" in hl|bird) ;; *) continue ;; esac
            run "$t" kernel "round=$r" --kernel-poll-ms "$kernel_poll_ms" ${prefixes:+--prefixes "$prefixes"}
        done
    done
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
/^RESULT/ && kv($0, "case") != "kernel" { res[kv($0, "target"), kv($0, "case")] = $0 }
END {
    nt = split(targets, T, " "); nc = split(cases, C, " ")
    name["hl"] = "hl-bgpd"; name["bird"] = "BIRD"; name["frr"] = "FRR bgpd"; name["gobgp"] = "GoBGP"
    label["shared"] = "1,000,000 /24, one shared path"
    label["distinct"] = "1,000,000 /24, 100,000 AS_PATHs"
    label["peers"] = "10 peers x 100,000 /24"
    if (nc == 0) exit
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
}' "$results" | tee "$out/table.md"

# The kernel table: per round, time (Established -> every route in the kernel, read from
# outside) / the daemon's CPU (user + system) / peak RSS, and the ratio; then the medians.
awk '
function kv(line, key,   a, i, n, p) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) { p = index(a[i], "="); if (substr(a[i], 1, p - 1) == key) return substr(a[i], p + 1) }
    return ""
}
function cell(l) {
    if (l == "") return "not run"
    if (kv(l, "failed") == "yes") return "failed"
    if (kv(l, "complete") != "yes") return sprintf("> %d s (%s of %s)", kv(l, "time_s"), kv(l, "seen"), kv(l, "prefixes"))
    return sprintf("%.2f s / %.2f s / %.0f MiB", kv(l, "time_s"), kv(l, "user_s") + kv(l, "sys_s"), kv(l, "rss_mib"))
}
function ok(l) { return l != "" && kv(l, "complete") == "yes" }
function median(v, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
/^RESULT/ && kv($0, "case") == "kernel" {
    r = kv($0, "round"); t = kv($0, "target"); res[t, r] = $0
    if (r + 0 > rounds) rounds = r + 0
    if (kv($0, "prefixes") != "") n = kv($0, "prefixes")
}
END {
    if (rounds == 0) exit
    printf "\n| %s /24 into the kernel, nobody polling the daemon | hl-bgpd | BIRD | hl/BIRD time |\n", n
    print "|---|---|---|---|"
    for (r = 1; r <= rounds; r++) {
        h = res["hl", r]; b = res["bird", r]
        printf "| round %d: time / CPU / peak RSS | %s | %s | %s |\n", r, cell(h), cell(b),
            ok(h) && ok(b) ? sprintf("%.2f", kv(h, "time_s") / kv(b, "time_s")) : "-"
        if (ok(h)) { nh++; th[nh] = kv(h, "time_s"); ch[nh] = kv(h, "user_s") + kv(h, "sys_s"); mh[nh] = kv(h, "rss_mib") }
        if (ok(b)) { nb++; tb[nb] = kv(b, "time_s"); cb[nb] = kv(b, "user_s") + kv(b, "sys_s"); mb[nb] = kv(b, "rss_mib") }
    }
    if (nh && nb) {
        a = median(th, nh); c = median(tb, nb)
        printf "| median (%d and %d rounds) | %.2f s / %.2f s / %.0f MiB | %.2f s / %.2f s / %.0f MiB | %.2f |\n",
            nh, nb, a, median(ch, nh), median(mh, nh), c, median(cb, nb), median(mb, nb), a / c
    }
    printf "\nCompletion lies between the last read of the kernel that was short and the time given:"
    for (r = 1; r <= rounds; r++) {
        h = res["hl", r]; b = res["bird", r]
        printf " round %d hl %s, BIRD %s;", r, ok(h) ? kv(h, "lower_s") " s" : "-", ok(b) ? kv(b, "lower_s") " s" : "-"
    }
    printf "\nExact count of the daemon'"'"'s routes afterwards (ip route):"
    for (r = 1; r <= rounds; r++)
        printf " round %d hl %s, BIRD %s;", r, kv(res["hl", r], "exact"), kv(res["bird", r], "exact")
    print ""
}' "$results" | tee -a "$out/table.md"
echo
cat "$out/env.txt"
echo "raw results: $results"
if [ "$failures" -gt 0 ]; then
    echo "run.sh: $failures run(s) failed (see the \"failed\" cells and $out/*/bench.err)" >&2
    exit 1
fi
