#!/usr/bin/env bash
# Installs what building and testing Skiff needs on Debian or Ubuntu (run as root, or with sudo).
set -euo pipefail
packages=(liblz4-dev libssl-dev libsqlite3-dev pkg-config rsync acl attr systemd curl prometheus)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "system packages ready: ${packages[*]}"
