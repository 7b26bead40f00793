#!/bin/sh
# Builds localhost/rise-base:busybox (a busybox-static rootfs, `docker import`ed)
# when it is absent. Idempotent and quiet on success. Usage:
#   dev/base-image.sh [docker|podman]
set -eu
cli="${1:-${RISE_CONTAINER_CLI:-docker}}"
image=localhost/rise-base:busybox
if "$cli" image inspect "$image" >/dev/null 2>&1; then exit 0; fi
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/root" "$root/var/www" "$root/tmp"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] && continue
  ln -sf /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" -cf - . | "$cli" import --change 'CMD ["/bin/sh"]' \
  --change 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' - "$image" >/dev/null
