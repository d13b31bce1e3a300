#!/usr/bin/env python3
"""diameter_peer.py — a small DIAMETER (RFC 6733) peer for the ks captures, no dependencies.

Used by diameter_scenario.sh (inside the capture namespace) and by make-diameter-sctp.py
(which imports the message builders below).

  diameter_peer.py server ADDR            a Gy/DCCA "OCS" (ocs.example.net) on ADDR:3868, one connection
  diameter_peer.py client ADDR SRC        a "PCEF" (pcef1.example.org) from SRC to the server at ADDR
  diameter_peer.py fdclient ADDR SRC      the same PCEF to a freeDiameter peer (peer1.example.org)
                                          that does not support application 4: E-bit 3xxx answer

What goes over the client <-> server connection (each side's messages are fixed by the script):
  CER/CEA; CCR-Initial s1 -> CCA 2001; CCR-Update s1 + CCR-Initial s2 written in one segment,
  answered out of order (s2 first: Experimental-Result 10415/5001 DIAMETER_ERROR_USER_UNKNOWN, then s1: 2001); server RAR s1
  -> client RAA 2001; client CCR-Update s1 (after re-auth) -> 2001; server DWR -> client DWA;
  CCR-Termination s1 -> 2001; client DPR -> DPA.
"""
import socket
import struct
import sys
import time

PORT = 3868
V_3GPP = 10415
FLAG_V, FLAG_M = 0x80, 0x40
F_R, F_P, F_E = 0x80, 0x40, 0x20
# command codes
CER, DWR, DPR, CCR, RAR = 257, 280, 282, 272, 258
APP_CC = 4


# ---------------------------------------------------------------- encoding
def avp(code, data, vendor=None, m=True):
    flags = (FLAG_M if m else 0) | (FLAG_V if vendor is not None else 0)
    hdr_len = 12 if vendor is not None else 8
    length = hdr_len + len(data)
    out = struct.pack(">IB", code, flags) + length.to_bytes(3, "big")
    if vendor is not None:
        out += struct.pack(">I", vendor)
    out += data
    return out + b"\0" * (-len(out) % 4)


def u32(code, v, **kw):
    return avp(code, struct.pack(">I", v), **kw)


def u64(code, v, **kw):
    return avp(code, struct.pack(">Q", v), **kw)


def utf8(code, s, **kw):
    return avp(code, s.encode() if isinstance(s, str) else s, **kw)


def grouped(code, *avps, **kw):
    return avp(code, b"".join(avps), **kw)


def address(code, ip, **kw):
    return avp(code, struct.pack(">H", 1) + socket.inet_aton(ip), **kw)


def ntp_time(code, unix, **kw):
    return u32(code, int(unix) + 2208988800, **kw)


def message(cmd, flags, app, hbh, e2e, *avps):
    body = b"".join(avps)
    length = 20 + len(body)
    return (struct.pack(">B", 1) + length.to_bytes(3, "big") + struct.pack(">B", flags)
            + cmd.to_bytes(3, "big") + struct.pack(">III", app, hbh, e2e) + body)


# ---------------------------------------------------------------- decoding (top level only)
def parse(buf):
    flags, cmd = buf[4], int.from_bytes(buf[5:8], "big")
    app, hbh, e2e = struct.unpack(">III", buf[8:20])
    avps, off = {}, 20
    while off + 8 <= len(buf):
        code, aflags = struct.unpack(">IB", buf[off:off + 5])
        alen = int.from_bytes(buf[off + 5:off + 8], "big")
        hl = 12 if aflags & FLAG_V else 8
        avps.setdefault(code, []).append(buf[off + hl:off + alen])
        off += alen + (-alen % 4)
    return {"flags": flags, "cmd": cmd, "app": app, "hbh": hbh, "e2e": e2e, "avps": avps,
            "raw": buf}


def get_u32(m, code):
    v = m["avps"].get(code)
    return struct.unpack(">I", v[0])[0] if v else None


def get_str(m, code):
    v = m["avps"].get(code)
    return v[0].decode() if v else None


def find_u32_nested(data, code):
    """first u32 AVP `code` anywhere inside grouped AVP data"""
    off = 0
    while off + 8 <= len(data):
        c, f = struct.unpack(">IB", data[off:off + 5])
        alen = int.from_bytes(data[off + 5:off + 8], "big")
        hl = 12 if f & FLAG_V else 8
        if c == code:
            return struct.unpack(">I", data[off + hl:off + hl + 4])[0]
        off += alen + (-alen % 4)
    return None


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, *msgs):
        self.s.sendall(b"".join(msgs))

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[1:4], "big")
                if len(self.buf) >= n:
                    m, self.buf = self.buf[:n], self.buf[n:]
                    return parse(m)
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d


# ---------------------------------------------------------------- peers and message builders
class Node:
    def __init__(self, host, realm, ip, state_id, product, hbh0, e2e0):
        self.host, self.realm, self.ip, self.state_id, self.product = host, realm, ip, state_id, product
        self.hbh, self.e2e = hbh0, e2e0

    def ids(self):
        self.hbh += 1
        self.e2e += 1
        return self.hbh, self.e2e

    def origin(self):
        return utf8(264, self.host) + utf8(296, self.realm)

    def cer(self, apps=(APP_CC,)):
        return message(CER, F_R, 0, *self.ids(), self.origin(), address(257, self.ip),
                       u32(266, 0), utf8(269, self.product, m=False), u32(278, self.state_id),
                       u32(265, V_3GPP), *[u32(258, a) for a in apps],
                       u32(299, 0), u32(267, 10201, m=False))

    def cea(self, req, apps=(APP_CC,)):
        return message(CER, 0, 0, req["hbh"], req["e2e"], u32(268, 2001), self.origin(),
                       address(257, self.ip), u32(266, 0), utf8(269, self.product, m=False),
                       u32(278, self.state_id), u32(265, V_3GPP), *[u32(258, a) for a in apps],
                       u32(267, 10201, m=False))

    def dwr(self):
        return message(DWR, F_R, 0, *self.ids(), self.origin(), u32(278, self.state_id))

    def dwa(self, req):
        return message(DWR, 0, 0, req["hbh"], req["e2e"], u32(268, 2001), self.origin(),
                       u32(278, self.state_id))

    def dpr(self, cause=0):
        return message(DPR, F_R, 0, *self.ids(), self.origin(), u32(273, cause))

    def dpa(self, req):
        return message(DPR, 0, 0, req["hbh"], req["e2e"], u32(268, 2001), self.origin())

    def ccr(self, sid, dest_realm, rtype, number, imsi, msisdn, *mscc, dest_host=None,
            extra=(), when=None):
        when = time.time() if when is None else when
        avps = [utf8(263, sid), self.origin(), utf8(283, dest_realm)]
        if dest_host:
            avps.append(utf8(293, dest_host))
        avps += [u32(258, APP_CC), utf8(461, "32251@3gpp.org"), u32(416, rtype), u32(415, number),
                 utf8(1, imsi + "@" + self.realm), u32(278, self.state_id),
                 ntp_time(55, when),
                 grouped(443, u32(450, 0), utf8(444, msisdn)),
                 grouped(443, u32(450, 1), utf8(444, imsi))]
        if rtype == 3:
            avps.append(u32(295, 1))                                    # Termination-Cause LOGOUT
        else:
            avps.append(u32(455, 1))                                    # Multiple-Services-Indicator
        avps += list(mscc)
        avps.append(grouped(873,                                        # Service-Information (3GPP)
                    grouped(874,                                        # PS-Information (3GPP)
                            avp(2, struct.pack(">I", 0x1A2B3C4D), vendor=V_3GPP),   # 3GPP-Charging-Id
                            u32(3, 0, vendor=V_3GPP),                   # 3GPP-PDP-Type IPv4
                            utf8(18, "00101", vendor=V_3GPP),           # 3GPP-SGSN-MCC-MNC
                            avp(21, b"\x06", vendor=V_3GPP, m=False),   # 3GPP-RAT-Type EUTRAN
                            utf8(30, "internet"),                       # Called-Station-Id
                            vendor=V_3GPP),
                    vendor=V_3GPP))
        avps += list(extra)
        return message(CCR, F_R | F_P, APP_CC, *self.ids(), *avps)

    def cca(self, req, result=2001, experimental=None, *mscc):
        avps = [utf8(263, get_str(req, 263))]
        if experimental:
            avps.append(grouped(297, u32(266, experimental[0]), u32(298, experimental[1])))
        else:
            avps.append(u32(268, result))
        avps += [self.origin(), u32(258, APP_CC), u32(416, get_u32(req, 416)),
                 u32(415, get_u32(req, 415))]
        avps += list(mscc)
        return message(CCR, F_P, APP_CC, req["hbh"], req["e2e"], *avps)

    def rar(self, sid, dest_host, dest_realm):
        return message(RAR, F_R | F_P, APP_CC, *self.ids(), utf8(263, sid), self.origin(),
                       utf8(283, dest_realm), utf8(293, dest_host), u32(258, APP_CC),
                       u32(285, 0))                                     # Re-Auth-Request-Type AUTHORIZE_ONLY

    def raa(self, req):
        return message(RAR, F_P, APP_CC, req["hbh"], req["e2e"], utf8(263, get_str(req, 263)),
                       u32(268, 2001), self.origin())


def rsu(octets):
    return grouped(437, u64(421, octets))                               # Requested-Service-Unit


def usu(secs, tin, tout):
    return grouped(446, u32(420, secs), u64(421, tin + tout), u64(412, tin), u64(414, tout))


def gsu(octets):
    return grouped(431, u64(421, octets))                               # Granted-Service-Unit


def mscc(*avps, rg=10, sid=1):
    return grouped(456, *avps, u32(439, sid), u32(432, rg))


PCEF = dict(host="pcef1.example.org", realm="example.org", product="ks-pcef",
            state_id=1700000001, hbh0=0x3E8A0000, e2e0=0x51F00000)
OCS = dict(host="ocs.example.net", realm="example.net", product="ks-ocs",
           state_id=1700000002, hbh0=0x7C100000, e2e0=0x2BD00000)
IMSI1, MSISDN1 = "001010123456789", "15550100001"
IMSI2, MSISDN2 = "001010987654321", "15550100002"


def sid(node, n):
    return "%s;1700000000;%d" % (node.host, n)


# ---------------------------------------------------------------- roles
def connect(addr, src):
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((src, 0))
    s.connect((addr, PORT))
    return Conn(s)


def pause():
    time.sleep(0.05)


def client(addr, src):
    me = Node(ip=src, **PCEF)
    c = connect(addr, src)
    s1, s2 = sid(me, 1), sid(me, 2)
    dr = OCS["realm"]

    def wait_answer():
        """next answer; watchdogs and re-auth requests from the server are answered on the way"""
        while True:
            m = c.recv()
            assert m is not None, "connection closed"
            if m["flags"] & F_R:
                if m["cmd"] == DWR:
                    pause()
                    c.send(me.dwa(m))
                elif m["cmd"] == RAR:
                    pause()
                    c.send(me.raa(m))
                    pending_reauth.append(get_str(m, 263))
                continue
            return m

    pending_reauth = []
    c.send(me.cer())
    assert get_u32(wait_answer(), 268) == 2001
    pause()
    c.send(me.ccr(s1, dr, 1, 0, IMSI1, MSISDN1, mscc(rsu(0))))
    wait_answer()
    pause()
    # two requests outstanding at once, written in one segment
    c.send(me.ccr(s1, dr, 2, 1, IMSI1, MSISDN1, mscc(rsu(0), usu(31, 1200000, 3800000))),
           me.ccr(s2, dr, 1, 0, IMSI2, MSISDN2, mscc(rsu(0), rg=20, sid=2)))
    wait_answer()
    wait_answer()
    # the server sends RAR for s1 now; answer it, then report usage as asked
    while not pending_reauth:
        m = c.recv()
        if m["flags"] & F_R and m["cmd"] == RAR:
            pause()
            c.send(me.raa(m))
            pending_reauth.append(get_str(m, 263))
    pause()
    c.send(me.ccr(s1, dr, 2, 2, IMSI1, MSISDN1, mscc(rsu(0), usu(12, 250000, 2250000))))
    wait_answer()
    # the server sends a DWR now
    m = c.recv()
    assert m["cmd"] == DWR and m["flags"] & F_R
    pause()
    c.send(me.dwa(m))
    time.sleep(0.2)
    c.send(me.ccr(s1, dr, 3, 3, IMSI1, MSISDN1, mscc(usu(5, 10000, 90000))))
    wait_answer()
    pause()
    c.send(me.dpr(0))
    m = wait_answer()
    assert m["cmd"] == DPR
    c.s.close()


def fdclient(addr, src):
    """to freeDiameter, which supports no application itself: CCR gets an E-bit 3xxx answer"""
    me = Node(ip=src, **dict(PCEF, state_id=1700000003, hbh0=0x3E8B0000, e2e0=0x51F10000))
    c = connect(addr, src)
    c.send(me.cer())
    m = c.recv()
    print("fdclient: CEA Result-Code", get_u32(m, 268), file=sys.stderr)
    pause()
    c.send(me.ccr(sid(me, 3), "example.org", 1, 0, IMSI1, MSISDN1, mscc(rsu(0)),
                  dest_host="peer1.example.org"))
    while True:
        m = c.recv()
        if m["flags"] & F_R and m["cmd"] == DWR:
            c.send(me.dwa(m))
            continue
        break
    print("fdclient: answer to CCR: flags 0x%02x Result-Code %s" % (m["flags"], get_u32(m, 268)),
          file=sys.stderr)
    pause()
    c.send(me.dpr(2))                                                   # DO_NOT_WANT_TO_TALK_TO_YOU
    while True:
        m = c.recv()
        if m is None or not m["flags"] & F_R:
            break
        if m["cmd"] == DWR:
            c.send(me.dwa(m))
    c.s.close()


def server(addr):
    me = Node(ip=addr, **OCS)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, PORT))
    ls.listen(1)
    s, _ = ls.accept()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(s)
    held = None
    peer_host = peer_realm = None
    while True:
        m = c.recv()
        if m is None:
            break
        if not m["flags"] & F_R:
            continue                                                    # RAA, DWA
        pause()
        if m["cmd"] == CER:
            peer_host, peer_realm = get_str(m, 264), get_str(m, 296)
            c.send(me.cea(m))
        elif m["cmd"] == DWR:
            c.send(me.dwa(m))
        elif m["cmd"] == DPR:
            c.send(me.dpa(m))
            c.recv()                                                    # peer closes
            break
        elif m["cmd"] == CCR:
            rtype, num = get_u32(m, 416), get_u32(m, 415)
            sess = get_str(m, 263)
            if rtype == 1 and sess.endswith(";2"):
                # unknown subscriber: Experimental-Result, then the held update of s1
                c.send(me.cca(m, experimental=(V_3GPP, 5001)))
                pause()
                c.send(me.cca(held, 2001, None, mscc(gsu(5000000), u32(448, 60), u32(268, 2001))))
                held = None
                time.sleep(0.3)
                c.send(me.rar(sess.replace(";2", ";1"), peer_host, peer_realm))
            elif rtype == 2 and num == 1:
                held = m                                                # answered after the next one
            elif rtype == 3:
                c.send(me.cca(m, 2001, None, mscc(u32(268, 2001))))
            else:
                c.send(me.cca(m, 2001, None, mscc(gsu(5000000), u32(448, 60), u32(268, 2001))))
                if rtype == 2 and num == 2:
                    time.sleep(0.3)
                    c.send(me.dwr())
    s.close()
    ls.close()


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "server":
        server(sys.argv[2])
    elif role == "client":
        client(sys.argv[2], sys.argv[3])
    elif role == "fdclient":
        fdclient(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
