#!/usr/bin/env bash
# The Dockerfile replay and the npm pack check (no Docker engine runs in CI).
#
# In a fresh temporary folder: copies the repo's files, replays every Dockerfile stage (its COPY,
# WORKDIR, ENV and RUN steps, the same npm commands: npm ci with prepare's build, npm prune
# --omit=dev), checks the pruned tree, starts the final stage like the image (ENTRYPOINT + CMD,
# tini, USER, the container's example config on 127.0.0.1 and a free port), runs its HEALTHCHECK
# command, stops it with SIGTERM; then npm pack, checks the tarball's files, installs it into an
# empty folder and runs `npx retrohook --version` and a short demo. The steps are read from the
# Dockerfile itself; a step the replay does not know fails the check. Details and options:
# test/packaging/replay.ts (--keep, --skip-docker, --skip-pack). Takes a few minutes: it compiles
# better-sqlite3 twice.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/tsx ]; then
  echo "docker-replay: node_modules/.bin/tsx is missing; run npm ci first" >&2
  exit 1
fi
exec node_modules/.bin/tsx test/packaging/replay.ts "$@"
