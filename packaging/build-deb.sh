#!/usr/bin/env bash
# Builds the Debian package of numberdesk with dpkg-deb and prints the path of the .deb.
#
#   packaging/build-deb.sh [OUT_DIR]      (default: target/debian)
#
# It installs the release binary as /usr/bin/numberdesk, packaging/numberdesk.toml as
# /etc/numberdesk/numberdesk.toml (a conffile), the hardened systemd unit and the user guide.
# The maintainer scripts in packaging/debian/ create the `numberdesk` system user and enable
# the service where systemd runs. Needs cargo, dpkg-deb and binutils (strip, objdump).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/debian}
target_dir=${CARGO_TARGET_DIR:-target}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
arch=$(dpkg --print-architecture)

cargo build --release --locked --bin numberdesk >&2
bin="$target_dir/release/numberdesk"

# The newest glibc symbol version the binary needs is the package's libc6 dependency.
glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/numberdesk_${version}_${arch}"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/etc/numberdesk" \
  "$root/usr/lib/systemd/system" "$root/usr/share/doc/numberdesk/docs"
install -m 0755 "$bin" "$root/usr/bin/numberdesk"
strip --strip-unneeded "$root/usr/bin/numberdesk"
install -m 0640 packaging/numberdesk.toml "$root/etc/numberdesk/numberdesk.toml"
install -m 0644 packaging/numberdesk.service "$root/usr/lib/systemd/system/numberdesk.service"
install -m 0644 README.md "$root/usr/share/doc/numberdesk/"
install -m 0644 docs/*.md "$root/usr/share/doc/numberdesk/docs/"
install -m 0644 packaging/debian/copyright "$root/usr/share/doc/numberdesk/copyright"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
echo /etc/numberdesk/numberdesk.toml > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: numberdesk
Version: $version
Architecture: $arch
Maintainer: numberdesk maintainers <numberdesk@localhost>
Installed-Size: $size
Depends: libc6 (>= $glibc), passwd
Recommends: ca-certificates
Section: net
Priority: optional
Homepage: https://github.com/numberdesk/numberdesk
Description: self-hosted phone-number request platform
 numberdesk takes requests for phone numbers from customers' systems over an
 HTTP API compatible with CM.com's Voice Phone Number Request API, assigns
 numbers from the operator's stock and reports every status change by
 callback and e-mail. This package runs it as a systemd service on SQLite
 or PostgreSQL.
CONTROL

mkdir -p "$out"
deb="$out/numberdesk_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
echo "$deb"
