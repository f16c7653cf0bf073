#!/usr/bin/env bash
# Runs every benchmark and writes bench/results/latest.json and bench/results/latest.md (docs/performance.md explains them).
# Usage: bench/run.sh [--quick] [--full-micro] [--framework-dependent]
#   (default)     micro benchmarks with BenchmarkDotNet's short job in-process, the end-to-end gateway harness and the
#                 centre at 10,000 simulated gateways: about 8 minutes on 2 cores
#   --quick       a first look: short load phases, 50 simulated gateways (about 2 minutes)
#   --full-micro  BenchmarkDotNet's default job for the micro benchmarks (tighter figures, much longer)
#   --framework-dependent  measure the framework-dependent build (dotnet care-gateway.dll) instead of the gateway as
#                 the package ships it (published for this machine by hardware/packaging/build-deb.sh --publish-to,
#                 started as its native executable with the systemd unit's environment)
# Needs Debian's mosquitto (/usr/sbin/mosquitto); all traffic stays on 127.0.0.1.
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
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || { echo "bench/run.sh needs mosquitto (apt-get install mosquitto)" >&2; exit 2; }
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

echo "bench/run.sh: micro benchmarks"
dotnet run -c Release --no-build --project bench/CareGateway.Benchmarks -- --filter '*' "${micro_job[@]}" \
  --exporters json github --artifacts "$out/micro" >"$out/micro.log" 2>&1 || { tail -40 "$out/micro.log"; exit 1; }

echo "bench/run.sh: end to end and centre at scale"
loadtest=bench/CareGateway.LoadTest/bin/Release/net10.0/CareGateway.LoadTest.dll
status=0
dotnet "$loadtest" "${quick[@]}" --gateway "$gateway" "${gateway_env[@]}" --out "$out/loadtest.json" || status=$?
dotnet "$loadtest" report --micro "$out/micro/results" --load "$out/loadtest.json" --json "$out/latest.json" --md "$out/latest.md"
cat "$out/latest.md"
echo "bench/run.sh: wrote $out/latest.json and $out/latest.md"
exit "$status"
