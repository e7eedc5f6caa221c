#!/usr/bin/env bash
# deploy/smoke.sh: the local cluster's whole round, for CI and for you.
# Check that compose refuses to start without the secrets build.sh makes,
# build the image (and deploy/.env), bring the compose cluster up (3
# brokers with authenticated routes, 2 workers, a client), wait for the
# client and check it exited 0, SIGKILL one broker node, run the client
# again against the two survivors and check it again.
# The cluster is always torn down (volumes included) on exit.
# ENGINE=docker|podman picks the container engine; default: podman if
# installed, else docker. TIMEOUT bounds each client run (seconds).
set -euo pipefail
cd "$(dirname "$0")"
TIMEOUT=${TIMEOUT:-300}
PROJECT=${PROJECT:-procpool-smoke}

if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1; then ENGINE=docker
  else echo "smoke: neither podman nor docker found" >&2; exit 1; fi
fi
export ENGINE
if [ "$ENGINE" = podman ]; then
  compose() { podman-compose -p "$PROJECT" -f docker-compose.yml "$@"; }
else
  compose() { docker compose -p "$PROJECT" -f docker-compose.yml "$@"; }
fi
containers=(procpool-client procpool-worker1 procpool-worker2 procpool-broker1 procpool-broker2 procpool-broker3)

logs() {
  for c in "${containers[@]}"; do
    echo "----- logs of $c"
    "$ENGINE" logs "$c" 2>&1 | tail -n 60 || true
  done
}

teardown() {
  local rc=$?
  echo "--- smoke: tearing down"
  compose down -v >/dev/null 2>&1 || true
  # In case compose could not: the containers and volumes by name.
  "$ENGINE" rm -f "${containers[@]}" >/dev/null 2>&1 || true
  for v in broker1-data broker2-data broker3-data; do
    "$ENGINE" volume rm -f "${PROJECT}_$v" >/dev/null 2>&1 || true
  done
  if [ "$rc" -eq 0 ]; then echo "--- smoke: PASS"; else echo "--- smoke: FAIL ($rc)"; fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# wait_client prints the client's output and fails unless it exited 0.
wait_client() {
  local what=$1 code
  if ! code=$(timeout "$TIMEOUT" "$ENGINE" wait procpool-client); then
    echo "smoke: $what: the client did not finish within ${TIMEOUT}s" >&2
    logs; return 1
  fi
  code=$(echo "$code" | tail -n 1)
  echo "----- client output ($what)"
  "$ENGINE" logs procpool-client 2>&1 | tail -n 40
  if [ "$code" != 0 ]; then
    echo "smoke: $what: the client exited $code" >&2
    logs; return 1
  fi
  echo "--- smoke: $what: client exited 0, every result right"
}

echo "--- smoke: compose refuses to start without deploy/.env's secrets"
bare=$(mktemp -d)
cp docker-compose.yml "$bare/"
# Any command that reads the file interpolates it: ps starts nothing.
if out=$(cd "$bare" && unset PROCPOOL_TOKEN PROCPOOL_CLUSTER_USER PROCPOOL_CLUSTER_PASSWORD && compose ps 2>&1); then
  rm -rf "$bare"
  echo "smoke: compose read docker-compose.yml without secrets" >&2; exit 1
fi
rm -rf "$bare"
if ! grep -q "run deploy/build.sh first" <<<"$out"; then
  echo "smoke: compose refused, but without saying what to do:" >&2; echo "$out" >&2; exit 1
fi

echo "--- smoke: build ($ENGINE)"
./build.sh

# redact replaces deploy/.env's values with their names in what it reads:
# podman-compose prints the podman commands it runs, environment included.
# Pure bash, so that no value passes through a command line.
redact() {
  local text name value
  text=$(cat)
  while IFS='=' read -r name value; do
    if [ -n "$value" ]; then text=${text//"$value"/<$name>}; fi
  done <.env
  printf '%s\n' "$text"
}

echo "--- smoke: up"
compose down -v >/dev/null 2>&1 || true
compose up -d 2>&1 | redact

wait_client "3 brokers"

victim=procpool-broker1
echo "--- smoke: SIGKILL $victim"
"$ENGINE" kill -s KILL "$victim"
state=$("$ENGINE" inspect -f '{{.State.Running}}' "$victim")
if [ "$state" != false ]; then
  echo "smoke: $victim still running after SIGKILL" >&2; exit 1
fi

echo "--- smoke: client again, on the 2 surviving nodes"
"$ENGINE" start procpool-client >/dev/null
wait_client "broker1 killed"
