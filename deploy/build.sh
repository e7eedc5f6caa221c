#!/usr/bin/env bash
# deploy/build.sh: build procpool's static binaries (CGO_ENABLED=0) into
# deploy/bin and the image procpool:dev (FROM scratch) with whichever of
# podman or docker works here. ENGINE=docker|podman picks one; IMAGE
# renames the image. No registry is needed.
set -euo pipefail
cd "$(dirname "$0")"
IMAGE=${IMAGE:-procpool:dev}

engine() {
  if [ -n "${ENGINE:-}" ]; then echo "$ENGINE"; return; fi
  if command -v podman >/dev/null 2>&1; then echo podman; return; fi
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker; return; fi
  echo "deploy/build.sh: neither podman nor a running docker found" >&2
  return 1
}
ENGINE=$(engine)

mkdir -p bin
echo "--- go build (static) -> deploy/bin"
for cmd in procpool procpool-worker; do
  CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "bin/$cmd" "../cmd/$cmd"
done
echo "--- $ENGINE build -t $IMAGE"
"$ENGINE" build -t "$IMAGE" -f Dockerfile .
echo "built $IMAGE with $ENGINE"
