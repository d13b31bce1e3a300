#!/usr/bin/env python3
"""make-diameter-sctp.py OUT.pcap — write pcap/diameter/ks_diameter_sctp.pcap.

SYNTHETIC capture: the kernel used to make the ks captures has no SCTP socket support
(socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) fails), so real DIAMETER-over-SCTP traffic could
not be recorded. This script builds the packets with scapy instead: the DIAMETER messages are
the ones diameter_peer.py (the PCEF client / OCS server used for ks_diameter_peers.pcap)
builds, the SCTP framing follows RFC 9260 (correct verification tags, TSNs, stream sequence
numbers, CRC32c checksums computed by scapy). Timestamps are fixed (start 2023-11-14
22:13:20 UTC, sub-millisecond LAN delays, 200 ms delayed SACKs, a 1 s T3-rtx retransmission),
so the output is byte-for-byte reproducible.

Association 10.0.0.3:40000 (pcef1.example.org) <-> 10.0.0.4:3868 (ocs.example.net), 2 streams
each way, all DIAMETER DATA chunks with PPID 46:
  INIT / INIT-ACK (state cookie) / COOKIE-ECHO / COOKIE-ACK
  CER (stream 0) / SACK+CEA bundled / SACK
  CCR-I s1 (stream 1) / SACK+CCA
  CCR-U s1 with 22 rating groups (3180 bytes) in 3 DATA chunks (B, middle, E) in 3 packets, a SACK
    after the second / SACK, then its CCA (22 granted rating groups, 1964 bytes) in 2 DATA chunks
    (B, E) / SACK
  CCR-I s2 and CCR-I s3: two DATA chunks bundled in one packet / SACK
  CCA s2 (TSN n) and CCA s3 (TSN n+1) arrive swapped: n+1 first -> SACK with a gap block, then n -> SACK
  RAR s1 from the server, retransmitted 1 s later with the same TSN -> SACK reporting the
    duplicate TSN bundled with the RAA
  DWR from the server / SACK+DWA
  CCR-T s1 / SACK+CCA, DPR / SACK+DPA / SACK
  SHUTDOWN / SHUTDOWN-ACK / SHUTDOWN-COMPLETE
"""
import os
import sys

sys.dont_write_bytecode = True          # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scapy.all import (IP, SCTP, Ether, SCTPChunkCookieAck, SCTPChunkCookieEcho,  # noqa: E402
                       SCTPChunkData, SCTPChunkInit, SCTPChunkInitAck, SCTPChunkParamIPv4Addr,
                       SCTPChunkParamStateCookie, SCTPChunkParamSupportedAddrTypes,
                       SCTPChunkSACK, SCTPChunkShutdown, SCTPChunkShutdownAck,
                       SCTPChunkShutdownComplete, wrpcap)

import diameter_peer as dp  # noqa: E402

T0 = 1700000000.0
C_IP, S_IP = "10.0.0.3", "10.0.0.4"
C_PORT, S_PORT = 40000, 3868
C_MAC, S_MAC = "02:00:00:00:00:03", "02:00:00:00:00:04"
C_TAG, S_TAG = 0x1C2D3E4F, 0x5A6B7C8D
C_TSN0, S_TSN0 = 0x00A0B000, 0x7F000000
PPID = 46
MAX_FRAG = 1452          # MTU 1500 - IP 20 - SCTP common header 12 - DATA chunk header 16
RWND = 106496


class Side:
    def __init__(self, ip, mac, port, tag, tsn0, ip_id):
        self.ip, self.mac, self.port, self.tag, self.next_tsn = ip, mac, port, tag, tsn0
        self.ssn = {0: 0, 1: 0}
        self.ip_id = ip_id
        self.peer = None

    def data_chunks(self, msg, stream):
        """DATA chunk(s) for one DIAMETER message, fragmented when bigger than MAX_FRAG"""
        ssn = self.ssn[stream]
        self.ssn[stream] += 1
        frags = [msg[i:i + MAX_FRAG] for i in range(0, len(msg), MAX_FRAG)]
        out = []
        for i, f in enumerate(frags):
            out.append(SCTPChunkData(beginning=int(i == 0), ending=int(i == len(frags) - 1),
                                     tsn=self.next_tsn, stream_id=stream, stream_seq=ssn,
                                     proto_id=PPID, data=f))
            self.next_tsn += 1
        return out

    def cum_ack(self):
        """highest TSN received in sequence from the peer"""
        return self.peer.next_tsn - 1


pkts = []
now = T0


def send(src, chunks, dt=0.0, tag=None):
    """one packet from src carrying the given chunks, dt seconds after the previous one"""
    global now
    now += dt
    dst = src.peer
    src.ip_id += 1
    p = (Ether(src=src.mac, dst=dst.mac)
         / IP(src=src.ip, dst=dst.ip, id=src.ip_id & 0xFFFF, ttl=64, flags="DF")
         / SCTP(sport=src.port, dport=dst.port, tag=dst.tag if tag is None else tag))
    for c in chunks:
        p = p / c
    assert len(p[IP]) <= 1500, "packet over the 1500-byte MTU"
    p.time = now
    pkts.append(p)


def sack(side, gaps=(), dups=()):
    return SCTPChunkSACK(cumul_tsn_ack=side.cum_ack(), a_rwnd=RWND, n_gap_ack=len(gaps),
                         gap_ack_list=["%d:%d" % g for g in gaps], n_dup_tsn=len(dups),
                         dup_tsn_list=list(dups))


def main(out):
    c = Side(C_IP, C_MAC, C_PORT, C_TAG, C_TSN0, 0x4100)
    s = Side(S_IP, S_MAC, S_PORT, S_TAG, S_TSN0, 0x9200)
    c.peer, s.peer = s, c
    pcef = dp.Node(ip=C_IP, **dict(dp.PCEF, hbh0=0x3E8C0000, e2e0=0x51F20000))
    ocs = dp.Node(ip=S_IP, **dict(dp.OCS, hbh0=0x7C110000, e2e0=0x2BD10000))
    s1, s2, s3 = dp.sid(pcef, 11), dp.sid(pcef, 12), dp.sid(pcef, 13)
    dr = dp.OCS["realm"]
    P = dp.parse
    grant = dp.mscc(dp.gsu(5000000), dp.u32(448, 60), dp.u32(268, 2001))

    # --- association setup
    # len=34: the chunk length does not count the padding of the final parameter (scapy would say 36)
    send(c, [SCTPChunkInit(len=34, init_tag=C_TAG, a_rwnd=RWND, n_out_streams=2, n_in_streams=2,
                           init_tsn=C_TSN0,
                           params=[SCTPChunkParamIPv4Addr(addr=C_IP),
                                   SCTPChunkParamSupportedAddrTypes(addr_type_list=["IPv4"])])],
         tag=0)
    cookie = bytes(range(32)) * 3
    send(s, [SCTPChunkInitAck(init_tag=S_TAG, a_rwnd=RWND, n_out_streams=2, n_in_streams=2,
                              init_tsn=S_TSN0,
                              params=[SCTPChunkParamIPv4Addr(addr=S_IP),
                                      SCTPChunkParamStateCookie(cookie=cookie)])], 0.000210)
    send(c, [SCTPChunkCookieEcho(cookie=cookie)], 0.000180)
    send(s, [SCTPChunkCookieAck()], 0.000150)

    # --- CER / CEA on stream 0
    cer = pcef.cer()
    send(c, c.data_chunks(cer, 0), 0.001200)
    send(s, [sack(s)] + s.data_chunks(ocs.cea(P(cer)), 0), 0.000420)
    send(c, [sack(c)], 0.200000)

    # --- CCR-Initial s1 on stream 1
    ccr = pcef.ccr(s1, dr, 1, 0, dp.IMSI1, dp.MSISDN1, dp.mscc(dp.rsu(0)), when=T0)
    send(c, c.data_chunks(ccr, 1), 0.050000)
    send(s, [sack(s)] + s.data_chunks(ocs.cca(P(ccr), 2001, None, grant), 1), 0.000610)
    send(c, [sack(c)], 0.200000)

    # --- big CCR-Update s1: 22 rating groups, 3 fragments (B, middle, E) in 3 packets
    many = [dp.mscc(dp.rsu(0), dp.usu(30 + rg, 100000 * rg, 900000 * rg), rg=100 + rg, sid=rg)
            for rg in range(1, 23)]
    big = pcef.ccr(s1, dr, 2, 1, dp.IMSI1, dp.MSISDN1, *many, when=T0 + 30)
    frags = c.data_chunks(big, 1)
    assert len(frags) == 3, len(big)
    send(c, [frags[0]], 0.300000)
    send(c, [frags[1]], 0.000030)
    send(s, [SCTPChunkSACK(cumul_tsn_ack=c.next_tsn - 2, a_rwnd=RWND - 2904, n_gap_ack=0,
                           n_dup_tsn=0)], 0.000050)   # SACK every second packet
    send(c, [frags[2]], 0.000020)
    cca = ocs.cca(P(big), 2001, None, *[dp.mscc(dp.gsu(5000000), dp.u32(268, 2001), rg=100 + rg,
                                                sid=rg) for rg in range(1, 23)])
    # the answer (22 granted rating groups) needs 2 fragments too: SACK alone, then B and E
    send(s, [sack(s)], 0.000800)
    for i, f in enumerate(s.data_chunks(cca, 1)):
        send(s, [f], 0.000100 if i == 0 else 0.000020)
    send(c, [sack(c)], 0.000040)

    # --- two CCR-Initial bundled in one packet (stream 1, consecutive TSNs and SSNs)
    r2 = pcef.ccr(s2, dr, 1, 0, dp.IMSI2, dp.MSISDN2, dp.mscc(dp.rsu(0), rg=20, sid=2), when=T0 + 31)
    r3 = pcef.ccr(s3, dr, 1, 0, "001010555000333", "15550100003",
                  dp.mscc(dp.rsu(0), rg=30, sid=3), when=T0 + 31)
    send(c, c.data_chunks(r2, 1) + c.data_chunks(r3, 1), 0.400000)
    send(s, [sack(s)], 0.000100)

    # --- the two answers arrive swapped: TSN n+1 (CCA s3) before TSN n (CCA s2)
    a2 = s.data_chunks(ocs.cca(P(r2), 2001, (dp.V_3GPP, 5001)), 1)
    a3 = s.data_chunks(ocs.cca(P(r3), 2001, None, dp.mscc(dp.gsu(5000000), dp.u32(268, 2001),
                                                           rg=30, sid=3)), 1)
    send(s, a3, 0.001500)
    # the client has TSN n+1 but not n yet: gap block 2..2 relative to the cumulative ack
    s.next_tsn -= 2
    send(c, [sack(c, gaps=[(2, 2)])], 0.000040)
    s.next_tsn += 2
    send(s, a2, 0.000030)
    send(c, [sack(c)], 0.000040)

    # --- RAR s1 from the server on stream 1, retransmitted (same TSN) after T3-rtx
    rar = ocs.rar(s1, dp.PCEF["host"], dp.PCEF["realm"])
    rar_chunks = s.data_chunks(rar, 1)
    send(s, rar_chunks, 0.500000)
    send(s, [SCTPChunkData(beginning=1, ending=1, tsn=rar_chunks[0].tsn, stream_id=1,
                           stream_seq=rar_chunks[0].stream_seq, proto_id=PPID, data=rar)],
         1.000000)
    send(c, [sack(c, dups=[rar_chunks[0].tsn])] + c.data_chunks(pcef.raa(P(rar)), 1), 0.000300)
    send(s, [sack(s)], 0.200000)

    # --- DWR from the server on stream 0
    dwr = ocs.dwr()
    send(s, s.data_chunks(dwr, 0), 0.800000)
    send(c, [sack(c)] + c.data_chunks(pcef.dwa(P(dwr)), 0), 0.000250)
    send(s, [sack(s)], 0.200000)

    # --- CCR-Termination s1
    ccr = pcef.ccr(s1, dr, 3, 2, dp.IMSI1, dp.MSISDN1, dp.mscc(dp.usu(42, 50000, 450000)),
                   when=T0 + 35)
    send(c, c.data_chunks(ccr, 1), 0.300000)
    send(s, [sack(s)] + s.data_chunks(ocs.cca(P(ccr), 2001, None, dp.mscc(dp.u32(268, 2001))), 1),
         0.000700)
    send(c, [sack(c)], 0.200000)

    # --- DPR / DPA on stream 0
    dpr = pcef.dpr(0)
    send(c, c.data_chunks(dpr, 0), 0.100000)
    send(s, [sack(s)] + s.data_chunks(ocs.dpa(P(dpr)), 0), 0.000300)
    send(c, [sack(c)], 0.000200)

    # --- graceful shutdown
    send(c, [SCTPChunkShutdown(cumul_tsn_ack=c.cum_ack())], 0.000400)
    send(s, [SCTPChunkShutdownAck()], 0.000120)
    send(c, [SCTPChunkShutdownComplete()], 0.000090)

    wrpcap(out, pkts)
    print("%s: %d packets, big CCR %d bytes" % (out, len(pkts), len(big)), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
