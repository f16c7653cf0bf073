#!/usr/bin/env bash
# Runs every test of the project, installing first what the tests need (Debian packages).
# Usage: ./test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")"

# --- what the tests need from Debian -------------------------------------------------------------
need=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# The Raspberry Pi (linux-arm64) build runs under qemu user-mode emulation with Debian's arm64 libraries.
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
for lib in libc6-arm64-cross libgcc-s1-arm64-cross libstdc++6-arm64-cross; do
  dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done
# The package is compiled ahead of time (Native AOT): clang links it, llvm-objcopy strips it, and the arm64 cross gcc
# and C library provide the target's start files and libraries (hardware/packaging/build-deb.sh).
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-objcopy >/dev/null 2>&1 || need+=(llvm)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
dpkg -s libc6-dev-arm64-cross >/dev/null 2>&1 || need+=(libc6-dev-arm64-cross)
# The response centre's tests: a real PostgreSQL server (started by the test fixture on a free loopback port) and
# headless Chromium for the operator console (driven by Playwright, which must not download a browser of its own).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
[ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test.sh: installing ${need[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start a system-wide broker on port 1883; the tests start their own on free ports.
  { $sudo systemctl disable --now mosquitto || $sudo service mosquitto stop; } >/dev/null 2>&1 || true
  # Likewise the postgresql package's own cluster on port 5432: the tests run their own server.
  { $sudo systemctl disable --now postgresql || $sudo service postgresql stop; } >/dev/null 2>&1 || true
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# --- the Raspberry Pi package: built here, checked (and its demo run under qemu) by PackagingTests ---------------
echo "test.sh: building the linux-arm64 Debian package"
CARE_GATEWAY_DEB=$(hardware/packaging/build-deb.sh --arch arm64 --out "$PWD/artifacts" | tail -n 1)
export CARE_GATEWAY_DEB

# --- build once, then run every test project ----------------------------------------------------
dotnet build Gateway.sln -c Release -nologo -v quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Gateway.sln -c Release --no-build --nologo --blame-hang-timeout 10m "$@" 2>&1 | tee "$log" || status=$?

# --- one closing line that any CI can read ------------------------------------------------------
awk '/(Passed|Failed)! +- +Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
