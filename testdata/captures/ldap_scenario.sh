#!/usr/bin/env bash
# ldap_scenario.sh PORT — run inside the capture namespace by make-ldap.sh.
# Starts a throw-away slapd (slapd.conf in a temp dir, mdb backend, suffix dc=example,dc=org,
# rootdn cn=admin,dc=example,dc=org / password "secret", a self-signed certificate for
# StartTLS, SASL DIGEST-MD5 against cleartext userPassword) seeded offline with slapadd, then
# drives it with the OpenLDAP command line tools; each tool run is one TCP connection.
set -euo pipefail
port="$1"
tmp="$(mktemp -d)"
srv=
trap '[ -n "$srv" ] && { kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; }; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/db"
base="dc=example,dc=org"
people="ou=people,$base"
admin="cn=admin,$base"

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

cat > "$tmp/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $tmp/slapd.pid
argsfile $tmp/slapd.args
TLSCertificateFile $tmp/cert.pem
TLSCertificateKeyFile $tmp/key.pem
sasl-host localhost
sasl-realm example.org
authz-regexp "^uid=([^,]+),(cn=[^,]+,)?cn=digest-md5,cn=auth$" "uid=\$1,$people"
password-hash {CLEARTEXT}
database mdb
maxsize 10485760
suffix "$base"
rootdn "$admin"
rootpw secret
directory $tmp/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF

cat > "$tmp/seed.ldif" <<LDIF
dn: $base
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

dn: $people
objectClass: organizationalUnit
ou: people

dn: ou=groups,$base
objectClass: organizationalUnit
ou: groups

dn: ou=remote,$base
objectClass: referral
objectClass: extensibleObject
ou: remote
ref: ldap://ldap.example.com/ou=remote,dc=example,dc=com

dn: uid=alice,$people
objectClass: inetOrgPerson
uid: alice
cn: Alice Anderson
sn: Anderson
givenName: Alice
mail: alice@example.org
title: Engineer
userPassword: alicepw

dn: uid=bob,$people
objectClass: inetOrgPerson
uid: bob
cn: Bob Brown
sn: Brown
mail: bob@example.org
telephoneNumber: +1 555 0102
userPassword: bobpw

dn: uid=carol,$people
objectClass: inetOrgPerson
uid: carol
cn: Carol Clark
sn: Clark
mail: carol@example.org
userPassword: carolpw

dn: cn=staff,ou=groups,$base
objectClass: groupOfNames
cn: staff
member: uid=alice,$people
member: uid=bob,$people
LDIF
slapadd -f "$tmp/slapd.conf" -l "$tmp/seed.ldif" 2>/dev/null

slapd -f "$tmp/slapd.conf" -h "ldap://127.0.0.1:$port/" -d 0 2>"$tmp/slapd.log" &
srv=$!
for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.1; done
H="ldap://127.0.0.1:$port"
# client settings only from here (no /etc/ldap/ldap.conf, no ~/.ldaprc): accept the self-signed cert
printf 'TLS_REQCERT never\n' > "$tmp/ldap.conf"
export LDAPCONF="$tmp/ldap.conf" HOME="$tmp"
cd "$tmp"

# 1. anonymous simple bind + subtree search with a compound filter, 3 attributes requested -> 2 entries
ldapsearch -x -H "$H" -b "$people" '(&(objectClass=person)(|(uid=alice)(cn=B*)))' cn mail uid

# 2. simple bind as admin + add of 2 entries; the second exists already -> entryAlreadyExists (68)
ldapadd -c -x -H "$H" -D "$admin" -w secret <<LDIF || true
dn: uid=dave,$people
objectClass: inetOrgPerson
uid: dave
cn: Dave Davis
sn: Davis
mail: dave@example.org
description: temporary account

dn: uid=alice,$people
objectClass: inetOrgPerson
uid: alice
cn: Alice Again
sn: Again
LDIF

# 3. modify: replace + add + delete on one entry, then a modify of a missing DN -> noSuchObject (32)
ldapmodify -c -x -H "$H" -D "$admin" -w secret <<LDIF || true
dn: uid=dave,$people
changetype: modify
replace: mail
mail: dave.davis@example.org
-
add: telephoneNumber
telephoneNumber: +1 555 0199
-
delete: description

dn: uid=nobody,$people
changetype: modify
replace: mail
mail: nobody@example.org
LDIF

# 4. modrdn uid=dave -> uid=david, deleting the old RDN value
ldapmodrdn -x -H "$H" -D "$admin" -w secret -r "uid=dave,$people" "uid=david"

# 5. compare: compareTrue (6), then compareFalse (5)
ldapcompare -x -H "$H" -D "$admin" -w secret "uid=alice,$people" "cn:Alice Anderson" || true
ldapcompare -x -H "$H" -D "$admin" -w secret "uid=alice,$people" "title:Manager" || true

# 6. delete
ldapdelete -x -H "$H" -D "$admin" -w secret "uid=david,$people"

# 7. Who am I? extended operation (1.3.6.1.4.1.4203.1.11.3) as admin
ldapwhoami -x -H "$H" -D "$admin" -w secret

# 8. bind with a wrong password -> invalidCredentials (49)
ldapwhoami -x -H "$H" -D "uid=alice,$people" -w wrongpw || true

# 9. sizelimit 1 on a search matching 3 entries -> 1 entry + sizeLimitExceeded (4)
ldapsearch -x -H "$H" -z 1 -b "$people" '(objectClass=inetOrgPerson)' uid || true

# 10. one-level search over the suffix: entries + a searchResRef for the referral object;
#     then a search based below the referral object -> referral (10) with the LDAP URL
ldapsearch -x -H "$H" -b "$base" -s one '(objectClass=*)' ou
ldapsearch -x -H "$H" -b "ou=remote,$base" -s base '(objectClass=*)' || true

# 11. SASL DIGEST-MD5 bind as alice (saslBindInProgress 14, then success) + Who am I?
ldapwhoami -H "$H" -Y DIGEST-MD5 -U alice -w alicepw -O 'maxssf=0'

# 12. password modify extended operation (1.3.6.1.4.1.4203.1.11.1) on carol by admin
ldappasswd -x -H "$H" -D "$admin" -w secret -a carolpw -s carolpw2 "uid=carol,$people"

# 13. StartTLS extended operation (1.3.6.1.4.1.1466.20037) in clear, then TLS: bind + Who am I? encrypted
ldapwhoami -x -ZZ -H "$H" -D "$admin" -w secret
