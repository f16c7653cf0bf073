#!/usr/bin/env bash
# Builds the care-gateway Debian package: a trimmed, ReadyToRun, self-contained publish of the gateway (docs/deployment.md
# says why), the systemd unit,
# the default configuration and the home broker / zigbee2mqtt templates.
# Usage: hardware/packaging/build-deb.sh [--arch arm64|amd64] [--out DIR]
# Prints the path of the .deb on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
arch=arm64
out="$root/artifacts"
while (($#)); do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "build-deb.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$arch" in
  arm64) rid=linux-arm64 ;;
  amd64) rid=linux-x64 ;;
  *) echo "build-deb.sh: --arch must be arm64 or amd64, not '$arch'" >&2; exit 2 ;;
esac
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -n1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/care-gateway"
mkdir -p "$pkg/DEBIAN" "$pkg/opt/care-gateway" "$pkg/usr/bin" "$pkg/lib/systemd/system" \
         "$pkg/etc/care-gateway" "$pkg/usr/share/care-gateway/templates" "$pkg/usr/share/doc/care-gateway"

dotnet publish "$root/gateway/CareGateway" -c Release -r "$rid" --self-contained \
  -p:PublishTrimmed=true -p:PublishReadyToRun=true -p:DebugType=none -o "$pkg/opt/care-gateway" -nologo -v quiet >&2

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
