#!/usr/bin/env bash
# Runs every benchmark and writes bench/results/latest.json and bench/results/latest.md (docs/performance.md explains them).
# Usage: bench/run.sh [--quick] [--full-micro] [--framework-dependent]
#   (default)     micro benchmarks with BenchmarkDotNet's short job in-process, the end-to-end gateway harness, the
#                 centre at 10,000 simulated gateways (broker only, then the real response-centre service on SQLite and
#                 PostgreSQL): about 15 minutes on 2 cores
#   --quick       a first look: short load phases, 50 simulated gateways (about 2 minutes)
#   --full-micro  BenchmarkDotNet's default job for the micro benchmarks (tighter figures, much longer)
#   --framework-dependent  measure the framework-dependent build (dotnet care-gateway.dll) instead of the gateway as
#                 the package ships it (published for this machine by hardware/packaging/build-deb.sh --publish-to,
#                 started as its native executable with the systemd unit's environment)
# Needs Debian's mosquitto and a C toolchain (installed when missing); all traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
quick=()
micro_job=(--job short --inProcess)
shipped=true
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    --framework-dependent) shipped=false ;;
    --full-micro) micro_job=() ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
# What the run needs from Debian, installed when missing (as test.sh does): the broker, and a C toolchain for the
# Native AOT publish of the gateway. PostgreSQL is optional (the centre service is then measured on SQLite only).
need=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
if [ "$shipped" = true ]; then
  command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || need+=(clang)
fi
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench/run.sh: installing ${need[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start a system-wide broker on port 1883; the benchmarks start their own on free ports.
  { $sudo systemctl disable --now mosquitto || $sudo service mosquitto stop; } >/dev/null 2>&1 || true
fi
# 10,000 connections need 10,000 descriptors in the broker and in the simulator (both inherit this limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "bench/run.sh: open files limit $(ulimit -n)"

out=bench/results
rm -rf "$out/micro"
mkdir -p "$out"
# The gateway as measured: as shipped (same publish settings as the package, for this machine's architecture) or the
# framework-dependent dll. Either way with the systemd unit's environment (GC settings), as the service runs.
if [ "$shipped" = true ]; then
  case "$(uname -m)" in aarch64) host_arch=arm64 ;; *) host_arch=amd64 ;; esac
  gateway=$(hardware/packaging/build-deb.sh --arch "$host_arch" --publish-to "$PWD/$out/gateway" | tail -n 1)/care-gateway
else
  dotnet build gateway/CareGateway -c Release -nologo -v quiet
  gateway=gateway/CareGateway/bin/Release/net10.0/care-gateway.dll
fi
gateway_env=()
for kv in $(sed -n 's/^Environment=//p' hardware/packaging/care-gateway.service); do
  gateway_env+=(--gateway-env "$kv")
done
dotnet build bench/CareGateway.LoadTest -c Release -nologo -v quiet
dotnet build bench/CareGateway.Benchmarks -c Release -nologo -v quiet
dotnet build response-centre/CareGateway.ResponseCentre.Service -c Release -nologo -v quiet

echo "bench/run.sh: micro benchmarks"
dotnet run -c Release --no-build --project bench/CareGateway.Benchmarks -- --filter '*' "${micro_job[@]}" \
  --exporters json github --artifacts "$out/micro" >"$out/micro.log" 2>&1 || { tail -40 "$out/micro.log"; exit 1; }

echo "bench/run.sh: end to end and centre at scale"
loadtest=bench/CareGateway.LoadTest/bin/Release/net10.0/CareGateway.LoadTest.dll
status=0
dotnet "$loadtest" "${quick[@]}" --gateway "$gateway" "${gateway_env[@]}" --out "$out/loadtest.json" || status=$?
# Idle and per-event cost (issue 17): wake-ups, CPU and bytes written while idle, per motion report and per alarm.
echo "bench/run.sh: idle and per-event cost"
idle_args=()
[ ${#quick[@]} -eq 0 ] || idle_args=(--quick)
dotnet "$loadtest" idle "${idle_args[@]}" --gateway "$gateway" "${gateway_env[@]}" --out "$out/idle.json" || status=$?
# The real response-centre service at scale: SQLite, and PostgreSQL when Debian's postgresql is installed (~5 min;
# --quick: 50 gateways, one short phase).
echo "bench/run.sh: the response-centre service at scale"
dotnet "$loadtest" centre-service "${quick[@]}" --service response-centre/CareGateway.ResponseCentre.Service/bin/Release/net10.0/response-centre.dll \
  --out "$out/centre-service.json" || status=$?
dotnet "$loadtest" report --micro "$out/micro/results" --load "$out/loadtest.json" --json "$out/latest.json" --md "$out/latest.md" \
  --centre-service "$out/centre-service.json"
cat "$out/latest.md"
echo "bench/run.sh: wrote $out/latest.json and $out/latest.md"
exit "$status"
