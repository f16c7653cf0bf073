#!/usr/bin/env bash
# Builds the care-gateway Debian package: the gateway compiled ahead of time (Native AOT, one native executable; with
# --no-aot a trimmed, ReadyToRun, self-contained publish instead; docs/deployment.md and docs/performance.md say why),
# the systemd unit, the default configuration and the home broker / zigbee2mqtt templates.
# Usage: hardware/packaging/build-deb.sh [--arch arm64|amd64] [--out DIR] [--no-aot] [--publish-to DIR]
#   --publish-to DIR  only publish the gateway, as the package ships it, into DIR (bench/run.sh measures that)
# Native AOT needs Debian's clang and llvm, and to build for the other architecture gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross (or their x86-64 counterparts): ./test.sh installs them.
# Prints the path of the .deb (or of the published directory) on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
arch=arm64
out="$root/artifacts"
aot=true
publish_to=""
while (($#)); do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-aot) aot=false; shift ;;
    --publish-to) publish_to=$2; shift 2 ;;
    *) echo "build-deb.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$arch" in
  arm64) rid=linux-arm64 ;;
  amd64) rid=linux-x64 ;;
  *) echo "build-deb.sh: --arch must be arm64 or amd64, not '$arch'" >&2; exit 2 ;;
esac
if [ "$aot" = true ]; then
  # Native AOT links with the C toolchain: say what is missing rather than fail deep inside the build.
  host=$(uname -m)
  case "$rid" in linux-arm64) target=aarch64 ;; *) target=x86_64 ;; esac
  missing=()
  command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing+=(clang)
  if [ "$host" != "$target" ]; then
    command -v clang >/dev/null 2>&1 || missing+=(clang)
    command -v llvm-objcopy >/dev/null 2>&1 || missing+=(llvm)
    case "$target" in aarch64) cross=gcc-aarch64-linux-gnu; crossdev=libc6-dev-arm64-cross ;; *) cross=gcc-x86-64-linux-gnu; crossdev=libc6-dev-amd64-cross ;; esac
    command -v "$target-linux-gnu-gcc" >/dev/null 2>&1 || missing+=("$cross")
    [ -e "/usr/$target-linux-gnu/lib/crt1.o" ] || missing+=("$crossdev")
  fi
  if ((${#missing[@]})); then
    echo "build-deb.sh: Native AOT for $rid needs the Debian packages: ${missing[*]} (apt-get install them, or pass --no-aot)" >&2
    exit 2
  fi
  publish_form=(-p:PublishAot=true)
else
  publish_form=(--self-contained -p:PublishTrimmed=true -p:PublishReadyToRun=true)
fi

publish() {
  dotnet publish "$root/gateway/CareGateway" -c Release -r "$rid" "${publish_form[@]}" -p:DebugType=none -o "$1" -nologo -v quiet >&2
}

if [ -n "$publish_to" ]; then
  rm -rf "$publish_to"
  publish "$publish_to"
  echo "$publish_to"
  exit 0
fi

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -n1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/care-gateway"
mkdir -p "$pkg/DEBIAN" "$pkg/opt/care-gateway" "$pkg/usr/bin" "$pkg/lib/systemd/system" \
         "$pkg/etc/care-gateway" "$pkg/usr/share/care-gateway/templates" "$pkg/usr/share/doc/care-gateway"

publish "$pkg/opt/care-gateway"

ln -s /opt/care-gateway/care-gateway "$pkg/usr/bin/care-gateway"
install -m 0644 "$here/care-gateway.service" "$pkg/lib/systemd/system/care-gateway.service"
install -m 0640 "$here/etc/gateway.json" "$pkg/etc/care-gateway/gateway.json"
install -m 0644 "$here/templates/"* "$pkg/usr/share/care-gateway/templates/"
install -m 0644 "$root/README.md" "$pkg/usr/share/doc/care-gateway/README.md"
for doc in configuration.md protocol.md operations.md installation.md sensors.md care-profile.md; do
  [ -f "$root/docs/$doc" ] && install -m 0644 "$root/docs/$doc" "$pkg/usr/share/doc/care-gateway/$doc"
done
install -m 0644 "$here/debian/conffiles" "$pkg/DEBIAN/conffiles"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$pkg/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/debian/control.in" > "$pkg/DEBIAN/control"

mkdir -p "$out"
deb="$out/care-gateway_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
