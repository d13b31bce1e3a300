#!/usr/bin/env python3
"""Regenerates openssl-transcripts.txt: TLS sessions between two OpenSSL endpoints
(Python's ssl module over memory BIOs, no network), with the key log OpenSSL wrote.

The wire bytes come from OpenSSL, not from ks-tls-decrypt, so tests/openssl.rs checks
the crate against an independent implementation. Usage:
    python3 make_transcripts.py > openssl-transcripts.txt
Needs: python3 (ssl built on OpenSSL 1.1.1+) and the openssl CLI (a throwaway cert, and
s_server/s_client over loopback for the KeyUpdate session, which Python cannot trigger).
"""
import os, socket, ssl, subprocess, sys, tempfile, threading, time, warnings

warnings.simplefilter("ignore", DeprecationWarning)

TLS12 = [
    # (name, cipher string, max version, encrypt_then_mac)
    ("tls12-ecdhe-rsa-aes128-gcm", "ECDHE-RSA-AES128-GCM-SHA256", "1.2", True),
    ("tls12-ecdhe-rsa-aes256-gcm", "ECDHE-RSA-AES256-GCM-SHA384", "1.2", True),
    ("tls12-ecdhe-rsa-chacha20", "ECDHE-RSA-CHACHA20-POLY1305", "1.2", True),
    ("tls12-rsa-aes128-gcm", "AES128-GCM-SHA256", "1.2", True),
    ("tls12-ecdhe-rsa-aes128-cbc-sha-etm", "ECDHE-RSA-AES128-SHA", "1.2", True),
    ("tls12-ecdhe-rsa-aes128-cbc-sha-mte", "ECDHE-RSA-AES128-SHA", "1.2", False),
    ("tls12-ecdhe-rsa-aes256-cbc-sha384-mte", "ECDHE-RSA-AES256-SHA384", "1.2", False),
    ("tls12-ecdhe-rsa-aes256-cbc-sha384-etm", "ECDHE-RSA-AES256-SHA384", "1.2", True),
    ("tls12-rsa-aes256-cbc-sha256-mte", "AES256-SHA256", "1.2", False),
    ("tls11-ecdhe-rsa-aes256-cbc-sha-mte", "ECDHE-RSA-AES256-SHA:@SECLEVEL=0", "1.1", False),
    ("tls10-ecdhe-rsa-aes128-cbc-sha-mte", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", "1.0", False),
    ("tls10-ecdhe-rsa-aes128-cbc-sha-etm", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", "1.0", True),
]
TLS13 = [
    ("tls13-aes128-gcm", "TLS_AES_128_GCM_SHA256"),
    ("tls13-aes256-gcm", "TLS_AES_256_GCM_SHA384"),
    ("tls13-chacha20", "TLS_CHACHA20_POLY1305_SHA256"),
]
VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
            "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
NO_ETM = 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC
# Payloads: several records each way, lengths that are not multiples of the AES block,
# and in the BIG sessions one write longer than 16 KiB (split into two records).
C_PLAIN = [b"GET / HTTP/1.1\r\nHost: ks\r\n\r\n", bytes(range(256)) * 3, b"x"]
BIG = bytes(range(256)) * 66
BIG_IN = ("tls12-ecdhe-rsa-aes256-gcm", "tls13-chacha20")
S_PLAIN = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"\x00" * 33]


def pump(a_out, b_in):
    data = a_out.read()
    b_in.write(data)
    return data


def session(name, cipher, version, etm, tmp):
    keylog = os.path.join(tmp, name + ".keys")
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.keylog_filename = keylog
    for ctx in (sctx, cctx):
        ctx.minimum_version = VERSIONS[version]
        ctx.maximum_version = VERSIONS[version]
        if cipher:
            ctx.set_ciphers(cipher)
        if not etm:
            ctx.options |= NO_ETM
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = cctx.wrap_bio(c_in, c_out, server_side=False)
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    c2s, s2c = bytearray(), bytearray()
    for _ in range(10):
        for end in (client, server):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        c2s += pump(c_out, s_in)
        s2c += pump(s_out, c_in)
    c_plain = C_PLAIN + [BIG] if name in BIG_IN else C_PLAIN
    for p in c_plain:
        client.write(p)
    c2s += pump(c_out, s_in)
    got = bytearray()
    while len(got) < sum(map(len, c_plain)):
        got += server.read(65536)
    assert bytes(got) == b"".join(c_plain)
    for p in S_PLAIN:
        server.write(p)
    s2c += pump(s_out, c_in)
    got = bytearray()
    while len(got) < sum(map(len, S_PLAIN)):
        try:
            got += client.read(65536)
        except ssl.SSLWantReadError:
            break
    assert bytes(got) == b"".join(S_PLAIN), name
    try:
        client.unwrap()
    except ssl.SSLWantReadError:
        pass
    c2s += pump(c_out, s_in)
    print("name", name)
    print("negotiated", client.version(), client.cipher()[0])
    with open(keylog) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                print("keylog", line.strip())
    print("c2s", c2s.hex())
    print("s2c", s2c.hex())
    print("c_plain", b"".join(c_plain).hex())
    print("s_plain", b"".join(S_PLAIN).hex())
    print()


def keyupdate_session(tmp):
    """TLS 1.3 with a KeyUpdate (update_requested) from the client, so both sides update.
    Python's ssl has no KeyUpdate call: openssl s_client's "K" command does it, through
    a loopback relay that records the bytes."""
    name = "tls13-keyupdate"
    keylog = os.path.join(tmp, name + ".keys")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    server_port = probe.getsockname()[1]
    probe.close()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % server_port,
                            "-cert", os.path.join(tmp, "cert.pem"), "-key", os.path.join(tmp, "key.pem"),
                            "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-quiet"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    c2s, s2c = bytearray(), bytearray()

    def relay(a, b, buf):
        while True:
            d = a.recv(65536)
            if not d:
                try:
                    b.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf += d
            b.sendall(d)

    def acceptor():
        cs, _ = ls.accept()
        ss = socket.create_connection(("127.0.0.1", server_port))
        ts = [threading.Thread(target=relay, args=(cs, ss, c2s)), threading.Thread(target=relay, args=(ss, cs, s2c))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    at = threading.Thread(target=acceptor)
    at.start()
    cli = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % ls.getsockname()[1], "-tls1_3",
                            "-keylogfile", keylog],  # no -quiet: it implies -ign_eof, which disables "K"
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    for proc, line in ((cli, b"before update\n"), (cli, b"K\n"), (cli, b"after update\n"), (srv, b"server after\n")):
        proc.stdin.write(line)
        proc.stdin.flush()
        time.sleep(0.5)
    cli.stdin.close()
    time.sleep(0.5)
    cli.terminate()
    srv.terminate()
    at.join(timeout=5)
    print("name", name)
    print("negotiated TLSv1.3 TLS_AES_128_GCM_SHA256 (openssl s_client K command)")
    with open(keylog) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                print("keylog", line.strip())
    print("c2s", c2s.hex())
    print("s2c", s2c.hex())
    print("c_plain", b"before update\nafter update\n".hex())
    print("s_plain", b"server after\n".hex())
    print()


def main():
    if len(sys.argv) > 1:  # child: one TLS 1.3 session, suite fixed by OPENSSL_CONF
        name = sys.argv[1]
        session(name, None, "1.3", True, os.environ["KS_TMP"])
        return
    tmp = tempfile.mkdtemp()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=ks",
                    "-days", "1", "-keyout", os.path.join(tmp, "key.pem"),
                    "-out", os.path.join(tmp, "cert.pem")], check=True, capture_output=True)
    print("# Generated by make_transcripts.py with", ssl.OPENSSL_VERSION)
    print("# Each block: key log lines as OpenSSL wrote them, the bytes each way, the plaintexts.")
    print()
    sys.stdout.flush()
    for name, cipher, version, etm in TLS12:
        session(name, cipher, version, etm, tmp)
    sys.stdout.flush()
    for name, suite in TLS13:
        conf = os.path.join(tmp, name + ".cnf")
        with open(conf, "w") as f:
            f.write("openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\n"
                    "Ciphersuites = %s\n" % suite)
        env = dict(os.environ, OPENSSL_CONF=conf, KS_TMP=tmp)
        subprocess.run([sys.executable, __file__, name], env=env, check=True)
    keyupdate_session(tmp)


if __name__ == "__main__":
    main()
