#!/usr/bin/env bash
# Runs the benchmarks and writes their reports under bench/results/.
# Usage: bench/run.sh [--quick]   (--quick: BenchmarkDotNet's short job, for a first look)
set -euo pipefail
cd "$(dirname "$0")/.."
job=()
[ "${1:-}" = "--quick" ] && job=(--job short)
out=bench/results/micro
dotnet run -c Release --project bench/CareGateway.Benchmarks -- --filter '*' "${job[@]}" \
  --exporters json github --artifacts "$out"
echo "Reports: $out/results/*.md (Markdown) and *.json"
