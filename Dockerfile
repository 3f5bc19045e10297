# retrohook container image.
#
#   docker build -t retrohook .
#   docker run -d --name retrohook -p 8080:8080 \
#     -v "$PWD/config.yaml:/config/config.yaml:ro" -v retrohook-data:/data retrohook
#
# The config is read from /config/config.yaml (RETROHOOK_CONFIG), state lives in the /data volume
# (examples/docker-config.yaml: state.url sqlite:///data/retrohook.sqlite), the server listens on
# 0.0.0.0:8080 and so needs server.admin_token (or admin_token_file). See README, "Container".
#
# No Docker engine runs in this project's CI: .ci/docker-replay.sh reads this file and replays its
# steps (build stage, prune, runtime layout, entrypoint, health check) on the CI machine. It knows
# a small set of instructions and commands and fails on anything else, so a change here that it
# cannot replay fails CI until the replay is taught it.

# Node.js LTS pinned by major, on Debian 12 slim. 24 is supported (maintenance LTS) until
# 2028-04-30; 26, active LTS since October 2026, is one `--build-arg NODE_VERSION=26` away
# (package.json engines and better-sqlite3 12.11 both accept it).
ARG NODE_VERSION=24

# --- build: compile TypeScript and better-sqlite3, then drop the dev dependencies -------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# `npm ci` runs `prepare`, which builds dist/ with tsc (a dev dependency): so install everything
# here, then prune. (`npm ci --omit=dev` would still run prepare, without tsc, and fail.)
RUN npm ci --no-audit --no-fund
RUN npm prune --omit=dev --no-audit --no-fund

# --- runtime: the pruned tree, an init process, a non-root user --------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM to node (which drains and exits 0) and reaps children.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
ENV RETROHOOK_CONFIG=/config/config.yaml
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY README.md LICENSE config.example.yaml ./
COPY examples ./examples
# /data holds the state (SQLite); the `node` user (uid 1000) of the base image owns it.
RUN mkdir -p /data /config && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
# Needs no curl or wget: node's fetch. Another port: set RETROHOOK_HEALTHCHECK_URL.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.RETROHOOK_HEALTHCHECK_URL||'http://127.0.0.1:8080/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --max-semi-space-size=4 caps V8's young generation at 3 × 4 MB instead of 3 × 16 MB: a thousand
# passes starting on one tick left the daemon at 316 MB of RSS with the default, 200–220 MB with this,
# at no measurable cost in pass speed (README, "Performance"; npm run bench uses these flags).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=4", "/app/bin/retrohook.js"]
CMD ["run"]
