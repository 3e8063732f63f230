#!/bin/sh
# build_gpu_image.sh GPU_IMAGE BASE_IMAGE PLUGIN — builds docker/Dockerfile.gpu with
# buildah (make image-gpu).  The context is a staging directory holding the plugin and
# the libraries ldd resolves for it outside the system's own directories (the CUDA
# toolkit's: cuBLASLt); BASE_IMAGE (the node image) is built first when missing.
set -e
GPU_IMAGE=$1
BASE=$2
PLUGIN=$3
[ -f "$PLUGIN" ] || { echo "no $PLUGIN: make builds it when nvcc is found" >&2; exit 1; }
command -v buildah >/dev/null || { echo "make image-gpu needs buildah: apt-get install buildah" >&2; exit 1; }
buildah inspect --type image "$BASE" >/dev/null 2>&1 || sh docker/build_image.sh "$BASE"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/lib"
cp "$PLUGIN" "$ctx/lib/libtensord_cuda.so"
# the plugin's NEEDED libraries that Debian's base image lacks: those found outside
# /lib and /usr/lib (libstdc++, libm, libc come with the base image)
env -u LD_LIBRARY_PATH ldd "$PLUGIN" | awk '$2 == "=>" && $3 !~ /^\/(usr\/)?lib\// {print $3}' | while read -r lib; do
    echo "image-gpu: adding $lib"
    cp -L "$lib" "$ctx/lib/"
done
if env -u LD_LIBRARY_PATH ldd "$PLUGIN" | grep -q "not found"; then
    ldd "$PLUGIN" >&2
    exit 1
fi
buildah bud --isolation chroot --network host --build-arg BASE="$BASE" -t "$GPU_IMAGE" -f docker/Dockerfile.gpu "$ctx"
echo "image: $GPU_IMAGE"
