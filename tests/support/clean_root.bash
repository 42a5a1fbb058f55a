# Clean Debian roots for the package test (tests/integration/package.bats):
# mmdebstrap --variant=apt (Essential packages and apt, nothing else), kept
# as a tarball in $PIPEKIT_CACHE/roots, one per suite and ISO week, so a rerun
# in the same week unpacks one in seconds; apt's downloads are kept there too.
#
#   root_tarball SUITE         the cached tarball (made when missing)
#   unpack_root SUITE DIR      a fresh root in DIR from it
#   in_root DIR CMD...         runs CMD chrooted in DIR, in a mount namespace
#                              of its own with /proc, /dev/shm, /dev/pts and apt's cache
#                              mounted: the mounts end with CMD, whatever happens
#   remove_root DIR            kills what still runs in DIR, checks that nothing
#                              is mounted under it, removes it
# Needs root, mmdebstrap (scripts/setup) and Debian's archive on the network.

ROOTS_CACHE=${PIPEKIT_CACHE:-$HOME/.cache/pipekit}/roots
# Bump when the way roots are made changes: old tarballs are then not reused.
ROOTS_RECIPE=1

mirrors_of() {
  case $1 in
    bookworm) echo "deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main" ;;
    trixie) echo "deb http://deb.debian.org/debian trixie main
deb http://deb.debian.org/debian trixie-updates main
deb http://deb.debian.org/debian-security trixie-security main" ;;
    *) return 1 ;;
  esac
}

root_tarball() {
  local suite=$1 tar tmp
  tar=$ROOTS_CACHE/$suite-apt-r$ROOTS_RECIPE-$(date -u +%G-W%V).tar
  if [ ! -s "$tar" ]; then
    mkdir -p "$ROOTS_CACHE"
    tmp=${tar%.tar}.tmp$$.tar  # mmdebstrap makes a tarball of a *.tar target
    local -a sources
    mapfile -t sources < <(mirrors_of "$suite")
    mmdebstrap --variant=apt --mode=root --quiet "$suite" "$tmp" "${sources[@]}" >&2 ||
      { rm -rf "$tmp"; echo "mmdebstrap $suite failed (network? run scripts/setup for mmdebstrap)" >&2; return 1; }
    mv "$tmp" "$tar"
    # older weeks' roots of this suite
    find "$ROOTS_CACHE" -maxdepth 1 -name "$suite-apt-*.tar" ! -path "$tar" -delete
  fi
  echo "$tar"
}

unpack_root() {
  local suite=$1 dir=$2 tar
  tar=$(root_tarball "$suite") || return 1
  mkdir -p "$dir" || return 1
  tar -xf "$tar" -C "$dir" --numeric-owner || return 1
  cp /etc/resolv.conf "$dir/etc/resolv.conf" || return 1
  # No service starts in the root (postgresql's package would start its cluster).
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" || return 1
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  mkdir -p "$ROOTS_CACHE/archives-$suite/partial"
}

# in_root DIR CMD...: a clean environment, as a login on the machine would have.
in_root() {
  local dir=$1 suite
  shift
  suite=$(sed -n 's/^VERSION_CODENAME=//p' "$dir/etc/os-release")
  unshare --mount --propagation private -- /bin/sh -c '
    dir=$1 archives=$2; shift 2
    mount -t proc proc "$dir/proc" &&
    mount -t tmpfs -o mode=1777 shm "$dir/dev/shm" &&
    mount --bind /dev/pts "$dir/dev/pts" &&
    mount --bind "$archives" "$dir/var/cache/apt/archives" &&
    exec chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive "$@"' _ "$dir" "$ROOTS_CACHE/archives-$suite" "$@"
}

remove_root() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd -P)
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$dir" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  # The mounts live in in_root's namespaces; one that leaked here would make
  # rm -rf reach into it: unmount it, and never delete through a mount.
  if findmnt -rn -o TARGET | grep -q "^$dir/"; then
    findmnt -rn -o TARGET | grep "^$dir/" | sort -r | xargs -r -n1 umount -l
  fi
  if findmnt -rn -o TARGET | grep -q "^$dir/"; then
    echo "remove_root: $dir still has mounts: not removed" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir"
}
