#!/usr/bin/env bash
# A tour of Skiff on this machine: keys, a backup, a change, an incremental backup, listing,
# a point-in-time restore, verification, and tampering caught. Everything happens in a
# scratch folder that is removed at the end (keep it with DEMO_KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product skiff >/dev/null
skiff="$PWD/.build/release/skiff"
work=$(mktemp -d /tmp/skiff-demo.XXXXXX)
[ "${DEMO_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
cd "$work"
export SKIFF_PASSPHRASE="demo passphrase" SKIFF_CACHE_DIR="$work/cache"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A sample tree to protect"
mkdir -p data/etc data/srv/app data/var/log
printf 'listen 443\n' > data/etc/app.conf
seq 1 200000 > data/srv/app/records.csv
head -c 3000000 /dev/urandom > data/srv/app/blob.bin
printf 'started\n' > data/var/log/app.log
ln -s app.conf data/etc/current.conf
ln data/srv/app/records.csv data/srv/app/records-hardlink.csv
du -sh data

step "Tenant restore key (offline), host key, repository"
"$skiff" init --repo repo --restore-key restore.key --host-key host.key --host demo-host
"$skiff" key inspect host.key

step "First backup"
"$skiff" backup data --repo repo --host-key host.key
sleep 1; moment=$(date --iso-8601=seconds)

step "Change one file, back up again: only the change and its path are stored"
printf 'request served\n' >> data/var/log/app.log
"$skiff" backup data --repo repo --host-key host.key

step "Snapshots (verified against the tenant key, no passphrase needed)"
"$skiff" snapshots --repo repo --key host.key

step "Restore the tree as it was at $moment"
"$skiff" restore --at "$moment" --repo repo --restore-key restore.key --to restored
diff <(cat data/var/log/app.log) <(cat "restored$work/data/var/log/app.log") >/dev/null && echo "unexpected: the log should be the old one" || echo "the restored log is the old one: $(cat "restored$work/data/var/log/app.log")"
diff -r data/srv "restored$work/data/srv" && echo "srv/ restored byte for byte"

step "Verify every seal and object with the restore key"
"$skiff" verify --repo repo --restore-key restore.key

step "Flip one byte of one stored object: verify names it (exit code 6)"
victim=$(find repo/objects -type f | sort | head -1)
chmod u+w "$victim"; printf '\xff' | dd of="$victim" bs=1 seek=100 count=1 conv=notrunc 2>/dev/null
set +e; "$skiff" verify --repo repo --restore-key restore.key; code=$?; set -e
echo "skiff verify exited with $code"
step "Done"
