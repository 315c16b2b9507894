#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (no browser download): install it,
# with CJK fonts so Chinese renders, when missing. Idempotent; needs root or sudo to install.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then exit 0; fi
echo "==> Installing Chromium and CJK fonts from Debian's packages (for the browser tests)"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
