#!/usr/bin/env bash
# diameter_scenario.sh — run inside the capture namespace by make-diameter.sh.
# Puts 10.0.0.1-4 on the namespace's loopback (freeDiameter will not use 127.0.0.0/8 addresses
# for its CER/CEA Host-IP-Address, so it refuses to start on them), then:
#  - freeDiameterd peer1.example.org (10.0.0.1) and peer2.example.org (10.0.0.2), realm
#    example.org, TCP only (No_SCTP), no TLS (no TLS_Cred; peer1 connects to peer2 with No_TLS,
#    peer2 accepts peer1 by acl_wl), TwTimer 6 s,
#    DCCA/NASREQ/3GPP dictionaries: CER/CEA, DWR/DWA every ~6 s, DPR/DPA when peer1 is stopped;
#  - diameter_peer.py server (ocs.example.net, 10.0.0.4) and client (pcef1.example.org,
#    10.0.0.3): Gy credit control, see diameter_peer.py;
#  - diameter_peer.py fdclient: pcef1.example.org (10.0.0.3) to peer1 (let in by acl_wl
#    ALLOW_IPSEC, i.e. without TLS): CER/CEA, CCR for application 4 which freeDiameter
#    does not serve -> answer with the E bit, DPR/DPA.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
for i in 1 2 3 4; do ip addr add "10.0.0.$i/32" dev lo; done
# an unbound socket to a local address gets that same address as source; give the two
# freeDiameter peers' connection distinct ends (peer1 10.0.0.1 -> peer2 10.0.0.2)
ip route replace local 10.0.0.2 dev lo table local src 10.0.0.1

fdext=/usr/lib/freeDiameter
# peer1 connects to peer2 (ConnectPeer); peer2 only listens and lets peer1 in by acl_wl, so
# there is one connection and no connection election; both let pcef1 in.
# acl_wl ALLOW_IPSEC = accept the peer without TLS.
printf 'ALLOW_IPSEC pcef1.example.org\nALLOW_IPSEC peer1.example.org\n' > "$tmp/acl_wl.conf"
for i in 1 2; do
    o=$((3 - i))
    if [ "$i" = 1 ]; then
        connect="ConnectPeer = \"peer$o.example.org\" { ConnectTo = \"10.0.0.$o\"; No_TLS; };"
    else
        connect=""
    fi
    cat > "$tmp/peer$i.conf" <<CONF
Identity = "peer$i.example.org";
Realm = "example.org";
Port = 3868;
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "10.0.0.$i";
TwTimer = 6;
LoadExtension = "$fdext/dict_nasreq.fdx";
LoadExtension = "$fdext/dict_dcca.fdx";
LoadExtension = "$fdext/dict_dcca_3gpp.fdx";
LoadExtension = "$fdext/acl_wl.fdx" : "$tmp/acl_wl.conf";
$connect
CONF
done

python3 "$here/diameter_peer.py" server 10.0.0.4 &
pids+=($!)
freeDiameterd -c "$tmp/peer2.conf" > "$tmp/peer2.log" 2>&1 &
fd2=$!; pids+=($fd2)
for _ in $(seq 100); do ss -ltn | grep -q "10.0.0.2:3868 " && break; sleep 0.1; done
freeDiameterd -c "$tmp/peer1.conf" > "$tmp/peer1.log" 2>&1 &
fd1=$!; pids+=($fd1)
start=$SECONDS
for _ in $(seq 100); do ss -ltn | grep -q "10.0.0.4:3868 " && break; sleep 0.1; done
sleep 1
python3 "$here/diameter_peer.py" client 10.0.0.4 10.0.0.3
sleep 0.5
python3 "$here/diameter_peer.py" fdclient 10.0.0.1 10.0.0.3
# let the two freeDiameter peers exchange a few watchdogs (Tw 6 s, jittered)
while [ $((SECONDS - start)) -lt 15 ]; do sleep 0.5; done
kill -TERM "$fd1"; wait "$fd1" || true       # peer1 sends DPR, peer2 answers DPA
sleep 0.5
kill -TERM "$fd2"; wait "$fd2" || true
grep -hE 'STATE_|Parsing error' "$tmp/peer1.log" "$tmp/peer2.log" >&2 || true
