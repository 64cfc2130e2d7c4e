#!/usr/bin/env bash
# A tour of Skiff on this machine: two local sites (self-signed TLS, data under a scratch
# folder), a host that replicates a sample tree to both in one pass, an outage and catch-up,
# snapshots and a restore from one site, verification, and tampering caught.
# Everything happens in a scratch folder that is removed at the end (keep it with DEMO_KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building (release)..."
swift build -c release --product skiff >/dev/null
swift build -c release --product skiff-site >/dev/null
skiff="$PWD/.build/release/skiff"
site="$PWD/.build/release/skiff-site"
work=$(mktemp -d /tmp/skiff-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${DEMO_KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export SKIFF_PASSPHRASE="demo passphrase"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
serve() {  # serve NAME [PORT]: start site NAME in the background
  "$site" serve --data "site-$1" --listen "127.0.0.1:${2:-0}" --log-level warning > "site-$1.out" 2> "site-$1.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "site-$1.out" 2>/dev/null && return; sleep 0.1; done
  echo "site $1 did not start:"; cat "site-$1.log"; exit 1
}
port_of() { grep -o '[0-9]*$' "site-$1.out"; }

step "The tenant's keys: a restore key (offline) and a host key (write-only)"
"$skiff" key create-tenant --out tenant.restore-key --public-out tenant.pub
"$skiff" key create-host --restore-key tenant.restore-key --host demo-host --out host.key
"$skiff" key export --host-certificate --host-key host.key > host.cert

step "Two sites, as two providers would run them"
for name in a b; do
  "$site" init --data "site-$name" --name 127.0.0.1 | grep fingerprint
  "$site" tenant add acme --data "site-$name" --key tenant.pub >/dev/null
  "$site" host add --data "site-$name" --certificate host.cert
  "$site" token create --data "site-$name" --role writer --tenant acme --host demo-host --out "writer-$name.token"
  "$site" token create --data "site-$name" --role reader --tenant acme --out "reader-$name.token"
  "$site" token create --data "site-$name" --role auditor --tenant acme --out "auditor-$name.token"
  "$site" token create --data "site-$name" --role admin --out "admin-$name.token"
done
serve a; serve b
port_a=$(port_of a); port_b=$(port_of b)
echo "site a on https://127.0.0.1:$port_a, site b on https://127.0.0.1:$port_b"

step "The host's configuration: both sites, pinned by fingerprint"
write_config() {  # write_config FILE ROLE
  cat > "$1" <<YAML
host_key: host.key
state_dir: state
quorum: 1            # a snapshot counts as durable once one site has it; the other catches up
quorum_timeout: 30
sites:
  - name: a
    url: https://127.0.0.1:$port_a
    token_file: $2-a.token
    fingerprint: $("$site" fingerprint --data site-a)
  - name: b
    url: https://127.0.0.1:$port_b
    token_file: $2-b.token
    fingerprint: $("$site" fingerprint --data site-b)
YAML
}
write_config host.yaml writer
write_config admin.yaml reader
write_config auditor.yaml auditor
write_config heal.yaml admin
cat host.yaml

step "A sample tree, backed up once and shipped to both sites"
mkdir -p data/etc data/srv/app data/var/log
printf 'listen 443\n' > data/etc/app.conf
seq 1 200000 > data/srv/app/records.csv
head -c 3000000 /dev/urandom > data/srv/app/blob.bin
printf 'started\n' > data/var/log/app.log
ln -s app.conf data/etc/current.conf
"$skiff" backup data --config host.yaml
"$skiff" status --config host.yaml

step "Site a goes down; the host keeps writing; site b keeps up"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
printf 'request served\n' >> data/var/log/app.log
"$skiff" backup data --config host.yaml
"$skiff" status --config host.yaml

step "Site a comes back and catches up from the host's backlog"
serve a "$port_a"
"$skiff" sync --config host.yaml
"$skiff" status --config host.yaml

step "Snapshots at site b, checked against the tenant key"
"$skiff" snapshots --config admin.yaml --site b --key tenant.pub

step "Restore the latest snapshot from site b, verifying every object"
"$skiff" restore latest --config admin.yaml --site b --restore-key tenant.restore-key --to restored
diff -r data "restored$work/data" && echo "restored byte for byte"

step "A third-party auditor checks both sites without any key: seals, chains, every object, agreement"
"$skiff" audit --config auditor.yaml --tenant-key tenant.pub --state audit.sqlite

step "Verify everything at site a with the restore key"
"$skiff" verify --config admin.yaml --site a --restore-key tenant.restore-key

step "Someone flips one byte of one object at site a: verify names it (exit code 6)"
# Objects live in pack files; the pack index says where one is (docs/FORMAT.md §7.1).
python3 - site-a/tenants/*/index/packs.sqlite <<'PY'
import os, sqlite3, sys
index = sys.argv[1]
pack, offset, length = sqlite3.connect(index).execute(
    "SELECT p.name, o.offset, o.length FROM objects o JOIN packs p ON p.id = o.pack ORDER BY o.address LIMIT 1").fetchone()
path = os.path.join(os.path.dirname(os.path.dirname(index)), "packs", pack[-2:], pack)
os.chmod(path, 0o644)
with open(path, "r+b") as f:
    f.seek(offset + length // 2)
    byte = f.read(1)
    f.seek(offset + length // 2)
    f.write(bytes([byte[0] ^ 0xFF]))
print(f"flipped a byte of one object inside {os.path.relpath(path)}")
PY
set +e; "$skiff" verify --config admin.yaml --site a --restore-key tenant.restore-key; code=$?; set -e
echo "skiff verify at site a exited with $code; site b is intact:"
"$skiff" verify --config admin.yaml --site b --restore-key tenant.restore-key | tail -1

step "The auditor finds it too, keyless (--deep re-reads every object); site a is healed from site b"
set +e; "$skiff" audit --config auditor.yaml --tenant-key tenant.pub --state audit.sqlite --deep | grep -E "finding|clean|findings"; set -e
"$skiff" heal --config heal.yaml --tenant-key tenant.pub --state audit.sqlite --from b --to a --deep
"$skiff" audit --config auditor.yaml --tenant-key tenant.pub --state audit.sqlite --deep | tail -1
step "Site b thins its history to the newest snapshot and collects garbage (keyless, uploads never paused)"
"$site" retention set --data site-b --tenant acme --keep-within 0s --grace 0s --reuse-horizon 0s
"$site" retention plan --data site-b --tenant acme
"$site" retention apply --data site-b --tenant acme
"$site" gc --data site-b --tenant acme
echo "retired seals stay signed and chained, so the audit is still clean:"
"$skiff" audit --config auditor.yaml --tenant-key tenant.pub --state audit.sqlite | tail -1
step "Done"
