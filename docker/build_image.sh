#!/bin/sh
# build_image.sh IMAGE — builds docker/Dockerfile with buildah (make image).
# No registry is needed: when the base image (TENSORD_BASE_IMAGE, default
# localhost/debian:12) is not in the local store, a minimal Debian 12 is made from
# Debian's archive with debootstrap and committed as that image (once; a few minutes).
set -e
IMAGE=${1:-localhost/tensord:latest}
BASE=${TENSORD_BASE_IMAGE:-localhost/debian:12}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v buildah >/dev/null || { echo "make image needs buildah: apt-get install buildah" >&2; exit 1; }
if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || { echo "no $BASE: apt-get install debootstrap" >&2; exit 1; }
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "image: debootstrap bookworm (minbase) from $MIRROR into $root"
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    tar -C "$root" -c . | tar -C "$mnt" -x
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$ctr"
    buildah commit --rm "$ctr" "$BASE" >/dev/null
    echo "image: base $BASE committed"
fi
buildah bud --isolation chroot --network host --build-arg BASE="$BASE" -t "$IMAGE" -f docker/Dockerfile .
echo "image: $IMAGE"
