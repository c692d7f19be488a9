#!/bin/bash
# Captures the BGP messages FRR sends to hl-bgpd, for tests/vectors/frr-*.txt (see README.md).
# Usage: HL_BGPD=target/debug/hl-bgpd OUT=/tmp/cap bash capture.sh as4|as2   (as root)
set -e
OUT=${OUT:-/tmp/cap}
mkdir -p "$OUT"
VARIANT=${1:-as4}
if [ "$VARIANT" = as2 ]; then VN="neighbor 10.0.0.2 dont-capability-negotiate"; RAS=23456; else VN=""; RAS=4200000001; fi
NS1=hl-bgpcap-frr; NS2=hl-bgpcap-hl
ip netns del $NS1 2>/dev/null || true; ip netns del $NS2 2>/dev/null || true
ip netns add $NS1; ip netns add $NS2
ip -n $NS1 link set lo up; ip -n $NS2 link set lo up
ip link add to-hl netns $NS1 type veth peer name to-frr netns $NS2
ip -n $NS1 addr add 10.0.0.1/24 dev to-hl; ip -n $NS1 addr add 2001:db8::1/64 dev to-hl nodad; ip -n $NS1 link set to-hl up
ip -n $NS2 addr add 10.0.0.2/24 dev to-frr; ip -n $NS2 addr add 2001:db8::2/64 dev to-frr nodad; ip -n $NS2 link set to-frr up
mkdir -p "$OUT"/frr; chmod 777 "$OUT"/frr
cat > "$OUT"/frr/zebra.conf <<'Z'
hostname z
Z
cat > "$OUT"/frr/bgpd.conf <<B
hostname b
route-map SET permit 10
 set community 65001:100 65001:200
 set large-community 65001:1:2
 set extcommunity rt 65001:7
 set metric 42
!
route-map PREPEND permit 10
 set as-path prepend 65001 65002
!
router bgp 4200000001
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 1 3
 neighbor 10.0.0.2 remote-as 64512
 neighbor 10.0.0.2 timers connect 1
 $VN
 address-family ipv4 unicast
  neighbor 10.0.0.2 route-map PREPEND out
  network 192.0.2.0/24 route-map SET
  network 198.18.0.0/15
  aggregate-address 203.0.113.0/24 as-set
  network 203.0.113.0/25
 exit-address-family
 address-family ipv6 unicast
  neighbor 10.0.0.2 activate
  network 2001:db8:100::/48 route-map SET
 exit-address-family
!
B
cat > "$OUT"/hl.toml <<H
asn = 64512
router_id = "10.0.0.2"
timers = { hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }
listen = ["0.0.0.0:179"]
[[neighbor]]
address = "10.0.0.1"
remote_as = $RAS
passive = true
H
ip netns exec $NS2 tshark -i to-frr -w "$OUT"/cap-$VARIANT.pcap -f "tcp port 179" -q > "$OUT"/tshark.log 2>&1 &
TS=$!
sleep 2
ip netns exec $NS1 /usr/lib/frr/zebra -f "$OUT"/frr/zebra.conf -i "$OUT"/frr/z.pid -z "$OUT"/frr/zs.api --vty_socket "$OUT"/frr --log file:"$OUT"/frr/z.log &
Z=$!
sleep 1
ip netns exec $NS1 /usr/lib/frr/bgpd -f "$OUT"/frr/bgpd.conf -i "$OUT"/frr/b.pid -z "$OUT"/frr/zs.api --vty_socket "$OUT"/frr --log file:"$OUT"/frr/b.log &
B=$!
ip netns exec $NS2 "${HL_BGPD:?set HL_BGPD to the hl-bgpd binary}" --config "$OUT"/hl.toml --control "$OUT"/hl.sock > "$OUT"/hl.log 2>&1 &
H=$!
sleep 6
vtysh --vty_socket "$OUT"/frr -c "clear bgp ipv4 unicast 10.0.0.2 soft out" > /dev/null
sleep 2
vtysh --vty_socket "$OUT"/frr -c "configure terminal" -c "router bgp 4200000001" -c "address-family ipv4 unicast" -c "no network 198.18.0.0/15" >/dev/null
sleep 2
vtysh --vty_socket "$OUT"/frr -c "configure terminal" -c "router bgp 4200000001" -c "address-family ipv6 unicast" -c "no network 2001:db8:100::/48 route-map SET" >/dev/null
sleep 2
kill $H; sleep 1; kill $B $Z; sleep 1; kill $TS; wait $TS || true
ip netns del $NS1; ip netns del $NS2
