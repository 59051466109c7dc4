#!/usr/bin/env bash
# The whole API locally (`make dev`): a redis-server (or the one already running),
# upstash-local in front of it, and `cargo lambda watch` serving every function on :9000 with
# the router of [workspace.metadata.lambda.watch.router] in Cargo.toml, which mirrors
# template.yaml. Functions compile on their first request and rebuild when the code changes.
# Ctrl-C stops everything this script started and nothing else.
#
# `make dev` installs what is missing first (redis-server, cargo-lambda into .venv); run
# directly, this script only says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-6379}
UPSTASH_LOCAL_PORT=${UPSTASH_LOCAL_PORT:-8079}
UPSTASH_LOCAL_TOKEN=${UPSTASH_LOCAL_TOKEN:-local-dev-token}
WATCH_PORT=${WATCH_PORT:-9000}
# 0.0.0.0 lets a phone on the same network reach the API (to submit a signature).
WATCH_ADDRESS=${WATCH_ADDRESS:-127.0.0.1}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

# cargo-lambda and zig from the project venv, if there is one.
[ -d .venv/bin ] && PATH="$PWD/.venv/bin:$PATH"

missing() { echo "make dev: $1" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
redis_answers() { redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; }

command -v cargo >/dev/null || missing "cargo is missing: install Rust with rustup (rust-version in Cargo.toml)"
command -v cargo-lambda >/dev/null ||
  missing "cargo-lambda is missing: run \`make dev\` (installs it into .venv) or \`pip install -r requirements-dev.txt\`"
if ! redis_answers; then
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    missing "redis-server is missing: run \`make dev\` (installs it with apt) or install Redis 7+"
fi
port_open "$UPSTASH_LOCAL_PORT" &&
  missing "port $UPSTASH_LOCAL_PORT is taken (upstash-local): stop what listens there or set UPSTASH_LOCAL_PORT"
port_open "$WATCH_PORT" &&
  missing "port $WATCH_PORT is taken (the API): stop what listens there or set WATCH_PORT"

# Every service runs in a process group of its own (job control), so the trap can stop each
# one with whatever it spawned (cargo lambda watch runs the functions as child processes).
set -m
groups=()
stop_started() {
  trap - EXIT INT TERM
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_started EXIT
trap 'exit 130' INT TERM

if redis_answers; then
  echo "using the redis-server already listening on :$REDIS_PORT"
else
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --loglevel warning &
  groups+=($!)
  for _ in $(seq 100); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "redis-server did not start on :$REDIS_PORT" >&2; exit 1; }
fi

cargo build --quiet -p upstash-local
"$TARGET_DIR/debug/upstash-local" \
  --listen "127.0.0.1:$UPSTASH_LOCAL_PORT" \
  --redis-url "redis://127.0.0.1:$REDIS_PORT" \
  --token "$UPSTASH_LOCAL_TOKEN" &
groups+=($!)
for _ in $(seq 100); do port_open "$UPSTASH_LOCAL_PORT" && break; sleep 0.1; done
port_open "$UPSTASH_LOCAL_PORT" || { echo "upstash-local did not start on :$UPSTASH_LOCAL_PORT" >&2; exit 1; }

# The functions' environment is [workspace.metadata.lambda.env] in Cargo.toml (STAGE=local, a
# dev-only JWT secret, upstash-local on :8079); only a changed port or token is passed here.
env_args=()
if [ "$UPSTASH_LOCAL_PORT" != 8079 ] || [ "$UPSTASH_LOCAL_TOKEN" != local-dev-token ]; then
  env_args=(--env-var "UPSTASH_REDIS_REST_URL=http://127.0.0.1:$UPSTASH_LOCAL_PORT"
    --env-var "UPSTASH_REDIS_REST_TOKEN=$UPSTASH_LOCAL_TOKEN")
fi
cargo lambda watch --invoke-address "$WATCH_ADDRESS" --invoke-port "$WATCH_PORT" \
  ${env_args[@]+"${env_args[@]}"} &
groups+=($!)

cat <<INFO

The API is coming up on http://localhost:$WATCH_PORT (each function compiles on its first request):
  curl -s localhost:$WATCH_PORT/health
  curl -s -X POST localhost:$WATCH_PORT/signature-session/create \\
    -H 'content-type: application/json' -d '{"onboardingToken":"x"}'
Redis over REST (upstash-local), for any Upstash client:
  export UPSTASH_REDIS_REST_URL=http://127.0.0.1:$UPSTASH_LOCAL_PORT
  export UPSTASH_REDIS_REST_TOKEN=$UPSTASH_LOCAL_TOKEN
Ctrl-C stops everything started here.

INFO

# Stop as soon as any service ends, taking the others with it.
set +e
wait -n
status=$?
echo "a service stopped (exit $status); stopping the others" >&2
exit "$status"
