#!/usr/bin/env bash
# The default guest for `ember system` without -kernel: Debian's stock kernel and a tiny busybox
# initramfs, built into a cache folder (never into the tree). Prints two lines on stdout: the kernel's
# path, then the initramfs's. Progress goes to stderr. Fast when the cache is already filled.
# The guest's /init powers the machine off by itself when the kernel command line has ember.poweroff
# (a boot smoke test); otherwise it leaves a shell on the console.
#
#   system/pc/boot/default-guest.sh            build if needed, print the paths
#   system/pc/boot/default-guest.sh --rebuild  throw the cache away first
set -euo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ember/guest"
kernel="$cache/vmlinuz"
initrd="$cache/initramfs.cpio.gz"
# The initramfs depends on this script's content: a changed script rebuilds it (the kernel stays).
stamp="$cache/initramfs.stamp"
want_stamp="$(sha256sum "$self" | cut -d' ' -f1)"

# The modules Debian builds as loadable ones that a guest on ember's virtio devices needs. Their
# dependencies come from each module's own .modinfo "depends=" list.
modules=(virtio_pci virtio_blk virtio_net virtio_rng)

log() { echo "default-guest: $*" >&2; }
die() { echo "default-guest: $*" >&2; exit 1; }

if [[ ${1:-} == --rebuild ]]; then
    rm -rf "$cache"
elif [[ $# -gt 0 ]]; then
    die "usage: $0 [--rebuild]"
fi

if [[ -s "$kernel" && -s "$initrd" && -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
    echo "$kernel"
    echo "$initrd"
    exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- the kernel package: the metapackage names the versioned one, which holds vmlinuz and modules ---
# (Once built, the cached guest stays as it is, even when Debian releases a newer kernel: --rebuild.)
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}
versioned="$(kernel_package)"
if [[ -z "$versioned" ]]; then
    log "apt does not know linux-image-amd64 yet: apt-get update"
    "${sudo[@]}" apt-get update -qq >&2 || true
    versioned="$(kernel_package)"
fi
[[ -n "$versioned" ]] || die "apt-cache does not know linux-image-amd64 (is a Debian mirror configured?)"
pkgdir="$cache/debs"
mkdir -p "$pkgdir"
deb="$(ls "$pkgdir"/"${versioned}"_*.deb 2>/dev/null | head -n1 || true)"
if [[ -z "$deb" ]]; then
    log "downloading linux-image-amd64 and $versioned"
    mkdir -p "$work/debs"
    # As root, apt's download sandbox user could not write into root's cache: download as root.
    sandbox=()
    [[ $(id -u) -eq 0 ]] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$work/debs" && apt-get download -q "${sandbox[@]}" linux-image-amd64 "$versioned" >&2) ||
        die "apt-get download $versioned failed"
    rm -f "$pkgdir"/*.deb     # older kernels
    mv "$work/debs"/*.deb "$pkgdir"/
    deb="$(ls "$pkgdir"/"${versioned}"_*.deb | head -n1)"
fi
kroot="$cache/kernel-tree"
if [[ ! -f "$kroot/.from" || "$(cat "$kroot/.from")" != "$(basename "$deb")" ]]; then
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$work/kernel-tree"
    basename "$deb" >"$work/kernel-tree/.from"
    rm -rf "$kroot"
    mv "$work/kernel-tree" "$kroot"
fi
vmlinuz="$(ls "$kroot"/boot/vmlinuz-* | head -n1)"
kver="${vmlinuz##*/vmlinuz-}"
moddir="$kroot/lib/modules/$kver"
[[ -d "$moddir" ]] || die "$deb has no lib/modules/$kver"

# --- busybox ---
busybox=/bin/busybox
[[ -x "$busybox" ]] || busybox=/usr/bin/busybox
[[ -x "$busybox" ]] || die "busybox-static is not installed (run ./ember setup)"
command -v cpio >/dev/null || die "cpio is not installed (run ./ember setup)"

# --- module closure, in load order (dependencies first) ---
find_module() {   # module name -> its file (module names use _, file names may use -)
    local name=$1 f
    while IFS= read -r f; do
        local base=${f##*/}
        base=${base%%.ko*}
        if [[ "${base//-/_}" == "$name" ]]; then
            echo "$f"
            return 0
        fi
    done < <(find "$moddir/kernel" -name '*.ko*')
    return 1
}
module_text() {   # a module file's bytes, decompressed if Debian compressed it
    case "$1" in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -dc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
    esac
}
declare -A seen=()
order=()
add_module() {
    local name=${1//-/_} f deps d
    [[ -n "${seen[$name]:-}" ]] && return 0
    seen[$name]=1
    if grep -qE "(^|/)${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null; then
        return 0    # built into the kernel
    fi
    f="$(find_module "$name")" || die "module $name is neither built in nor in $moddir"
    deps="$(module_text "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1)"
    IFS=, read -r -a deps <<<"$deps"
    for d in "${deps[@]}"; do
        [[ -n "$d" ]] && add_module "$d"
    done
    order+=("$f")
}
for m in "${modules[@]}"; do
    add_module "$m"
done

# --- the initramfs tree ---
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,lib/modules,usr/bin,usr/sbin,usr/share/udhcpc,run}
cp "$busybox" "$root/bin/busybox"
# Every applet as a link, so the shell finds them on PATH.
for applet in $("$busybox" --list); do
    [[ "$applet" == busybox ]] && continue
    ln -sf busybox "$root/bin/$applet"
done
: >"$root/etc/modules.order"
for f in "${order[@]}"; do
    b=${f##*/}
    case "$b" in
    *.ko.xz|*.ko.zst|*.ko.gz) module_text "$f" >"$root/lib/modules/${b%.*}"; b=${b%.*} ;;
    *) cp "$f" "$root/lib/modules/$b" ;;
    esac
    echo "$b" >>"$root/etc/modules.order"
done

cat >"$root/init" <<'INIT'
#!/bin/sh
# ember's default guest: mount the kernel file systems, load the virtio drivers, configure the network
# if there is one, then a shell on the console.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
echo "ember guest: init started ($(uname -r))"
while read -r mod; do
    insmod "/lib/modules/$mod" 2>/dev/null || echo "ember guest: insmod $mod failed"
done </etc/modules.order
hostname ember
if [ -e /sys/class/net/eth0 ]; then
    ip link set lo up
    ip link set eth0 up
    udhcpc -i eth0 -q -t 5 -n -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &&
        echo "ember guest: eth0 $(ip -4 -o addr show eth0 | awk '{print $4}')" ||
        echo "ember guest: eth0: no DHCP answer"
fi
for b in /sys/block/vd*; do
    [ -e "$b" ] && echo "ember guest: disk /dev/${b##*/} ($(cat "$b/size") sectors)"
done
# ember.poweroff on the command line: a boot smoke test, power off as soon as the guest is up.
if grep -q 'ember.poweroff' /proc/cmdline; then
    echo "ember guest: powering off (ember.poweroff)"
    poweroff -f
fi
echo "ember guest: ready (poweroff -f to power off)"
while true; do
    setsid cttyhack sh -l
    echo "ember guest: shell exited, starting another"
done
INIT
chmod 755 "$root/init"

cat >"$root/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
# udhcpc calls this with the lease in the environment: set the address, route and resolver.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip -4 addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
        ip -4 route del default 2>/dev/null
        for r in $router; do
            ip -4 route add default via "$r" dev "$interface" && break
        done
    fi
    : >/etc/resolv.conf
    for d in $dns; do
        echo "nameserver $d" >>/etc/resolv.conf
    done
    ;;
esac
exit 0
DHCP
chmod 755 "$root/usr/share/udhcpc/default.script"

cat >"$root/etc/profile" <<'PROFILE'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='ember# '
PROFILE
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

# The kernel opens /dev/console for /init before anything is mounted, so the archive must hold that
# node. Making it with mknod needs root; a hand-written newc archive in front of cpio's does not (the
# kernel unpacks concatenated archives). newc: "070701", 13 fields in 8 hex digits, the name with its
# NUL, padding to 4 bytes (ino, mode, uid, gid, nlink, mtime, filesize, dev major/minor, rdev
# major/minor, namesize, check).
newc_entry() {   # name mode rdev-major rdev-minor
    local name=$1 mode=$2 major=$3 minor=$4 ino=$5
    local namesize=$((${#name} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$ino" "$mode" 0 0 1 0 0 0 0 "$major" "$minor" "$namesize" 0
    printf '%s\0' "$name"
    head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}
device_nodes() {
    newc_entry dev $((0040755)) 0 0 1
    newc_entry dev/console $((0020600)) 5 1 2
    newc_entry TRAILER!!! 0 0 0 0
}

log "building the initramfs (kernel $kver, modules: ${#order[@]})"
{
    device_nodes
    (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0)
} | gzip -9 >"$work/initramfs.cpio.gz"
cp "$vmlinuz" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$kernel"
mv -f "$work/initramfs.cpio.gz" "$initrd"
echo "$want_stamp" >"$stamp"
echo "$kernel"
echo "$initrd"
