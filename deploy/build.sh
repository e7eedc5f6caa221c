#!/usr/bin/env bash
# deploy/build.sh: build procpool's static binaries (CGO_ENABLED=0) into
# deploy/bin and the image procpool:dev (FROM scratch) with whichever of
# podman or docker works here. ENGINE=docker|podman picks one; IMAGE
# renames the image. No registry is needed.
#
# It also makes the compose cluster's secrets, once: deploy/.env (mode 600,
# git-ignored) with a random client token and random route credentials,
# which docker-compose.yml requires. An existing deploy/.env is kept; a
# variable missing from it is added.
set -euo pipefail
cd "$(dirname "$0")"
IMAGE=${IMAGE:-procpool:dev}

# random prints 32 random bytes in hex.
random() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# secrets writes what deploy/.env lacks; values never pass through argv.
secrets() {
  (umask 077; touch .env)
  chmod 600 .env
  local name
  for name in PROCPOOL_TOKEN PROCPOOL_CLUSTER_USER PROCPOOL_CLUSTER_PASSWORD; do
    if ! grep -q "^$name=." .env; then
      if [ "$name" = PROCPOOL_CLUSTER_USER ]; then
        echo "$name=route-$(random | cut -c1-8)" >>.env
      else
        echo "$name=$(random)" >>.env
      fi
      echo "--- deploy/.env: made $name"
    fi
  done
}
secrets

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
