#!/usr/bin/env bash
# radius_scenario.sh udp|tcp — run inside the capture namespace by make-radius.sh.
# Starts freeradius 3.2 in the foreground (-f) with a minimal private config written to a
# temp dir (dictionaries from /usr/share/freeradius; radtest/radclient read
# /etc/freeradius/3.0/dictionary as usual): auth 1812 (UDP and TCP), acct 1813,
# CoA/Disconnect 3799, client 127.0.0.1 secret "testing123", users "alice" (PAP, CHAP,
# MS-CHAP; the Accept carries a Cisco-AVPair VSA) and "bob" (Access-Challenge first, then
# Accept when the State comes back); CoA/Disconnect for User-Name "nobody" get a NAK.
# Then drives it with radtest and radclient: "udp" runs the UDP cases, "tcp" only sends
# two Access-Requests over one RADIUS/TCP connection (RFC 6613).
set -euo pipefail
mode="$1"
tmp="$(mktemp -d)"
mkdir -p "$tmp/acct"
cat >"$tmp/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = $tmp
sbindir = /usr/sbin
logdir = $tmp
raddbdir = $tmp
radacctdir = $tmp/acct
name = freeradius
confdir = $tmp
run_dir = $tmp
db_dir = $tmp
libdir = /usr/lib/freeradius
pidfile = $tmp/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
proxy_requests = no
log {
    destination = files
    file = $tmp/radius.log
    auth = yes
}
security {
    allow_core_dumps = no
    max_attributes = 200
    reject_delay = 0
    status_server = yes
    require_message_authenticator = no
}
thread pool {
    start_servers = 2
    max_servers = 4
    min_spare_servers = 1
    max_spare_servers = 2
    max_requests_per_server = 0
}
client localhost {
    ipaddr = 127.0.0.1
    proto = *
    secret = testing123
    require_message_authenticator = no
}
modules {
    pap {
    }
    chap {
    }
    mschap {
    }
    files {
        filename = $tmp/users
        acctusersfile = $tmp/acct_users
    }
    always ok {
        rcode = ok
    }
    always reject {
        rcode = reject
    }
    always handled {
        rcode = handled
    }
}
server default {
    listen {
        type = auth
        ipaddr = 127.0.0.1
        port = 1812
    }
    listen {
        type = auth
        proto = tcp
        ipaddr = 127.0.0.1
        port = 1812
    }
    listen {
        type = acct
        ipaddr = 127.0.0.1
        port = 1813
    }
    listen {
        type = coa
        ipaddr = 127.0.0.1
        port = 3799
    }
    authorize {
        if (&User-Name == "bob" && !&State) {
            update reply {
                &State := 0x6b732d73746174652d31
                &Reply-Message := "Enter the code from your token"
            }
            update control {
                &Response-Packet-Type := Access-Challenge
            }
            handled
        }
        chap
        mschap
        files
        pap
        Autz-Type Status-Server {
            ok
        }
    }
    authenticate {
        Auth-Type PAP {
            pap
        }
        Auth-Type CHAP {
            chap
        }
        Auth-Type MS-CHAP {
            mschap
        }
    }
    preacct {
        ok
    }
    accounting {
        ok
        Acct-Type Status-Server {
            ok
        }
    }
    post-auth {
        ok
        Post-Auth-Type REJECT {
            # drop what the users file put in the reply (attr_filter.access_reject in the stock config)
            update {
                &reply: !* ANY
            }
            update reply {
                &Reply-Message := "Access denied"
            }
        }
    }
    recv-coa {
        if (&User-Name == "nobody") {
            update reply {
                &Error-Cause := Session-Context-Not-Found
            }
            reject
        }
        ok
    }
    send-coa {
        ok
    }
}
CONF
cat >"$tmp/users" <<'USERS'
alice   Cleartext-Password := "wonderland"
        Reply-Message = "Hello, alice",
        Framed-IP-Address = 10.0.0.7,
        Session-Timeout = 3600,
        Cisco-AVPair = "shell:priv-lvl=15"
bob     Cleartext-Password := "builder", State == 0x6b732d73746174652d31
        Reply-Message = "Code accepted"
USERS
: >"$tmp/acct_users"
freeradius -f -d "$tmp" -l stdout >"$tmp/fr.out" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; cat "$tmp/radius.log" >&2 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do ss -lun | grep -q ':3799 ' && break; sleep 0.1; done
ss -lun | grep -q ':3799 ' || { cat "$tmp/fr.out" >&2; exit 1; }
R=127.0.0.1
rc() { echo "+ radclient $*" >&2; radclient -r 1 -t 2 -x "$@" || true; }

if [ "$mode" = tcp ]; then
    # RADIUS over TCP (RFC 6613): Access-Accept and Access-Reject on one connection
    printf '%s\n\n%s\n' 'User-Name = "alice", User-Password = "wonderland", Message-Authenticator = 0x00' \
        'User-Name = "alice", User-Password = "nope", Message-Authenticator = 0x00' \
        | rc -P tcp $R:1812 auth testing123
    sleep 0.5
    exit 0
fi

# Access-Request: PAP accept (reply with Cisco-AVPair VSA), wrong password reject, CHAP, MS-CHAP
radtest alice wonderland $R 0 testing123 || true
radtest alice wrongpass $R 0 testing123 || true
radtest -t chap alice wonderland $R 0 testing123 || true
radtest -t mschap alice wonderland $R 0 testing123 || true
# Access-Request carrying a Vendor-Specific attribute and a Message-Authenticator
printf '%s\n' 'User-Name = "alice"' 'User-Password = "wonderland"' \
    'NAS-IP-Address = 192.0.2.1' 'NAS-Port = 7' 'NAS-Port-Type = Virtual' \
    'Cisco-AVPair = "shell:priv-lvl=15"' 'Cisco-AVPair = "ip:addr-pool=ks"' \
    'Calling-Station-Id = "02-00-00-00-00-01"' 'Message-Authenticator = 0x00' \
    | rc $R:1812 auth testing123
# Access-Challenge, then the answer with State
printf '%s\n' 'User-Name = "bob"' 'User-Password = "builder"' | rc $R:1812 auth testing123
printf '%s\n' 'User-Name = "bob"' 'User-Password = "builder"' 'State = 0x6b732d73746174652d31' \
    | rc $R:1812 auth testing123
# Access-Request with a wrong shared secret + Message-Authenticator: the server drops it,
# radclient retries once (same Identifier) -> two requests, no response
printf '%s\n' 'User-Name = "alice"' 'User-Password = "wonderland"' 'Message-Authenticator = 0x00' \
    | radclient -r 2 -t 1 $R:1812 auth wrongsecret || true
# Status-Server to the auth and the acct port
printf '%s\n' 'Message-Authenticator = 0x00' | rc $R:1812 status testing123
printf '%s\n' 'Message-Authenticator = 0x00' | rc $R:1813 status testing123
# Accounting-Request Start, Interim-Update, Stop
acct() {
    printf '%s\n' 'User-Name = "alice"' "Acct-Status-Type = $1" 'Acct-Session-Id = "ks-0001"' \
        'NAS-IP-Address = 192.0.2.1' 'NAS-Port = 7' 'Framed-IP-Address = 10.0.0.7' \
        'Called-Station-Id = "02-00-00-00-00-fe"' 'Calling-Station-Id = "02-00-00-00-00-01"' \
        "Acct-Session-Time = $2" "Acct-Input-Octets = $3" "Acct-Output-Octets = $4" \
        "Acct-Delay-Time = 0" ${5:+"Acct-Terminate-Cause = $5"} \
        | rc $R:1813 acct testing123
}
acct Start 0 0 0
acct Interim-Update 60 12345 67890
acct Stop 120 23456 98765 User-Request
# CoA-Request -> CoA-ACK, Disconnect-Request -> Disconnect-ACK, and NAK with Error-Cause
printf '%s\n' 'User-Name = "alice"' 'Acct-Session-Id = "ks-0001"' 'Session-Timeout = 600' \
    'Filter-Id = "limited"' | rc $R:3799 coa testing123
printf '%s\n' 'User-Name = "alice"' 'Acct-Session-Id = "ks-0001"' | rc $R:3799 disconnect testing123
printf '%s\n' 'User-Name = "nobody"' 'Acct-Session-Id = "ks-0002"' | rc $R:3799 coa testing123
printf '%s\n' 'User-Name = "nobody"' 'Acct-Session-Id = "ks-0002"' | rc $R:3799 disconnect testing123
sleep 0.5
