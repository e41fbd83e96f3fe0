#!/bin/bash
# Regenerates the encryption fixtures of testdata/crypt (see README.md there) from a real
# MariaDB 10.11 server with file_key_management. Usage: make.sh WORKDIR (removed first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
w=$1
rm -rf "$w"; mkdir -p "$w"
run() { # name algorithm keyfile filekey
  local n=$1 alg=$2 kf=$3 fk=$4 d="$w/$1"
  mkdir -p "$d"
  mariadb-install-db --no-defaults --datadir="$d/data" --auth-root-authentication-method=normal >/dev/null
  mariadbd --no-defaults --user=root --datadir="$d/data" --socket="$d/sock" --skip-networking \
    --pid-file="$d/pid" --log-error="$d/err" --innodb-buffer-pool-size=16M \
    --innodb-log-file-size=4M --plugin-load-add=file_key_management \
    --file-key-management-filename="$kf" ${fk:+--file-key-management-filekey="$fk"} \
    --file-key-management-encryption-algorithm="$alg" \
    --innodb-encrypt-tables=ON --innodb-encrypt-log=ON &
  for _ in $(seq 60); do [ -S "$d/sock" ] && break; sleep 0.5; done
  local m="mariadb --no-defaults -uroot -S $d/sock"
  $m -e "create database db; use db;
    create table db.t_fcrc (id int primary key, c varchar(200)) engine=innodb encrypted=yes encryption_key_id=2;
    insert into db.t_fcrc select seq, repeat(char(65+seq%26),150) from seq_1_to_300;
    set global innodb_checksum_algorithm=crc32;
    create table db.t_legacy (id int primary key, c varchar(200)) engine=innodb encrypted=yes;
    insert into db.t_legacy select seq, repeat(char(97+seq%26),150) from seq_1_to_300;
    set global innodb_checksum_algorithm=full_crc32;
    create table db.t_pc (id int primary key, c varchar(200)) engine=innodb encrypted=yes page_compressed=1;
    insert into db.t_pc select seq, repeat('z',150) from seq_1_to_300;
    create table db.t_rename (id int) engine=innodb; rename table db.t_rename to db.t_renamed;"
  $m -e "set global innodb_max_dirty_pages_pct=0;" ; sleep 3
  kill "$(cat "$d/pid")"; while [ -e "$d/pid" ]; do sleep 0.2; done
  for t in t_fcrc t_legacy t_pc; do head -c $((16384*5)) "$d/data/db/$t.ibd" > "$here/${n}_$t.ibd"; done
  gzip -9c "$d/data/ib_logfile0" > "$here/${n}_ib_logfile0.gz"
}
printf '# keys for the fixtures\n1;0123456789ABCDEF0123456789ABCDEF\n\n2;F5502320F8429037B8DAEF761B189D12F5502320F8429037B8DAEF761B189D12\n' > "$here/keys.txt"
openssl enc -aes-256-cbc -md sha1 -pass pass:secret -in "$here/keys.txt" -out "$here/keys.enc" 2>/dev/null
[ "${2:-all}" = ctr ] || run cbc aes_cbc "$here/keys.txt" ""
run ctr aes_ctr "$here/keys.enc" "secret"
