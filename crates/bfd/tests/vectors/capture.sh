#!/bin/bash
# Captures BFD Control packets between two FRR bfdd instances, for tests/vectors/frr-*.txt
# (see README.md). Usage (root, FRR and tshark installed): OUT=/tmp/bfdcap bash capture.sh
# Creates namespaces hl-bfdcap-a and hl-bfdcap-b and deletes them (and the daemons) at the end.
set -e
OUT=${OUT:-/tmp/bfdcap}
A=hl-bfdcap-a; B=hl-bfdcap-b
cleanup() {
  for n in a b; do
    for d in bfdd zebra; do [ -f "$OUT/$n/$d.pid" ] && kill "$(cat "$OUT/$n/$d.pid")" 2>/dev/null || true; done
  done
  [ -n "$TSHARK" ] && kill "$TSHARK" 2>/dev/null || true
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add $A; ip netns add $B
ip -n $A link set lo up; ip -n $B link set lo up
ip link add to-b netns $A type veth peer name to-a netns $B
ip -n $A addr add 10.0.0.1/24 dev to-b; ip -n $A addr add 2001:db8::1/64 dev to-b nodad
ip -n $B addr add 10.0.0.2/24 dev to-a; ip -n $B addr add 2001:db8::2/64 dev to-a nodad
ip -n $A link set to-b up; ip -n $B link set to-a up
for n in a b; do
  mkdir -p "$OUT/$n"; chmod 777 "$OUT/$n"; rm -f "$OUT/$n"/*.pid
  if [ $n = a ]; then P4=10.0.0.2; P6=2001:db8::2; IF=to-b; else P4=10.0.0.1; P6=2001:db8::1; IF=to-a; fi
  echo "hostname z$n" > "$OUT/$n/zebra.conf"
  printf 'bfd\n peer %s interface %s\n  receive-interval 300\n  transmit-interval 300\n !\n!\n' $P4 $IF > "$OUT/$n/bfdd.conf"
done
ip netns exec $A tshark -q -i to-b -f 'udp port 3784' -w "$OUT/frr.pcap" 2>/dev/null & TSHARK=$!
sleep 2
for n in a b; do
  d=$OUT/$n; ns=hl-bfdcap-$n
  ip netns exec $ns /usr/lib/frr/zebra -d -f $d/zebra.conf -i $d/zebra.pid -z $d/zserv.api --vty_socket $d --log file:$d/zebra.log
done
sleep 2
for n in a b; do
  d=$OUT/$n; ns=hl-bfdcap-$n
  ip netns exec $ns /usr/lib/frr/bfdd -d -f $d/bfdd.conf -i $d/bfdd.pid -z $d/zserv.api --vty_socket $d --bfdctl $d/bfdd.sock --log file:$d/bfdd.log
done
va() { vtysh --vty_socket "$OUT/a" "$@"; }; vb() { vtysh --vty_socket "$OUT/b" "$@"; }
sleep 2
va -c 'conf t' -c 'bfd' -c 'peer 2001:db8::2 interface to-b' -c 'receive-interval 300' -c 'transmit-interval 300'
vb -c 'conf t' -c 'bfd' -c 'peer 2001:db8::1 interface to-a' -c 'receive-interval 300' -c 'transmit-interval 300'
sleep 5
vb -c 'conf t' -c 'bfd' -c 'peer 10.0.0.1 interface to-a' -c 'shutdown'          # AdminDown
sleep 3
vb -c 'conf t' -c 'bfd' -c 'peer 10.0.0.1 interface to-a' -c 'no shutdown'       # Down, Init, Up, Poll
sleep 5
va -c 'conf t' -c 'bfd' -c 'peer 10.0.0.2 interface to-b' -c 'transmit-interval 200' -c 'detect-multiplier 5'
sleep 3
ip -n $B link set to-a down; sleep 3; ip -n $B link set to-a up                # detection time
sleep 6
echo "capture in $OUT/frr.pcap; list it with:"
echo "tshark -r $OUT/frr.pcap -T fields -e frame.number -e ip.src -e ipv6.src -e bfd.sta -e bfd.diag -e bfd.flags.p -e bfd.flags.f -e udp.payload"
