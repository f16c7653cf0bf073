#!/usr/bin/env bash
# The long form of the fault suite (tests/CareGateway.IntegrationTests/FaultSuiteTests.cs): more presses through more
# random faults (SIGKILL, broker stop and crash, network reset and black hole) than CI runs.
# Usage: bench/fault-suite.sh [PRESSES] [FAULTS] [SEED]   (defaults 5000, 100, random; the seed is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARE_FAULT_PRESSES="${1:-5000}" CARE_FAULT_FAULTS="${2:-100}"
[ -n "${3:-}" ] && export CARE_FAULT_SEED="$3"
dotnet build tests/CareGateway.IntegrationTests -c Release -nologo -v quiet
dotnet test tests/CareGateway.IntegrationTests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~FaultSuiteTests" --logger "console;verbosity=detailed" 2>&1 \
  | grep -E "fault suite seed|presses through|Passed|Failed|Error Message|Assert" || true
