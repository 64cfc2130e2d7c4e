#!/usr/bin/env bash
# Installs what building and testing Skiff needs on Debian or Ubuntu (run as root, or with sudo).
set -euo pipefail
# debootstrap, systemd-container (systemd-nspawn) and procps: the boot test of the systemd units
# (Tools/systemd/boot-test.sh) builds a Debian root and boots it.
packages=(liblz4-dev libssl-dev libsqlite3-dev pkg-config rsync acl attr systemd curl openssl prometheus python3-pip
          debootstrap systemd-container procps)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "system packages ready: ${packages[*]}"
# The S3-protocol server the S3 store's tests start (moto), and the AWS CLI they check with.
if ! command -v moto_server >/dev/null || ! command -v aws >/dev/null; then
  python3 -m pip install --quiet 'moto[server]' awscli 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]' awscli
fi
echo "python packages ready: moto[server] awscli"
