# syntax=docker/dockerfile:1
#
# ai-fix image: one image for all three commands of bin/ai-fix.js
#   start  - webhook server and worker in one process (default)
#   serve  - webhook server only
#   worker - worker only (no HTTP server; see HEALTHCHECK below)
# Node 22 runs the TypeScript sources directly (type stripping), so there is no build step.
# Two variants (README, "Which image"):
#   docker build .                 slim: Node 22 and git, for JavaScript/TypeScript repositories
#   docker build --target full .   full: slim plus Python, Go, Rust, Java and C compilers

# --- Stage 1: production dependencies ---------------------------------------------------------
FROM node:22-bookworm-slim AS deps
WORKDIR /app
# Only the manifests, so this layer stays cached until the dependencies change.
COPY package.json package-lock.json ./
# `npm ci` is not usable: the lockfile omits other platforms' optional packages. `npm install`
# still follows the lockfile's versions. No install scripts run (--ignore-scripts).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund

# --- Stage 2: slim, the runtime ----------------------------------------------------------------
FROM node:22-bookworm-slim AS slim

# git: cloning and pushing the repositories being fixed; ca-certificates: HTTPS for git;
# tini: PID 1 that forwards signals and reaps the agent's child processes;
# bubblewrap: AI_FIX_SANDBOX=bwrap isolation of the agent's commands (see README, Security).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini bubblewrap \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    AI_FIX_WORKDIR=/var/lib/ai-fix

# Workspaces (clones of the repositories being fixed): with /tmp, the only places the app writes
# to, so the root filesystem can be mounted read-only. No VOLUME: every container gets its own,
# and workers must not share it.
RUN mkdir -p /var/lib/ai-fix && chown node:node /var/lib/ai-fix

WORKDIR /app
# Copied as root and left read-only for the runtime user; least-changing layers first.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json app.yml ./
COPY bin ./bin
COPY src ./src

# Non-root user of the base image (uid 1000). The worker isolates the agent's commands with
# bubblewrap, which Debian installs without setuid: it works for this user through unprivileged
# user namespaces, so it needs no capability, but the container must allow creating namespaces,
# mounting inside them and a fresh /proc (docker-compose.yml's worker service shows how, with
# deploy/seccomp/ai-fix-worker.json), and the host kernel must allow unprivileged user namespaces.
# Where it cannot, the worker refuses to start unless AI_FIX_SANDBOX=none (README, Security).
USER node

EXPOSE 3000

# For `start` and `serve`: the HTTP server's /healthz. The `worker` command has no HTTP server, so
# the check passes when the container runs it (PID 1 is tini; its arguments end with the
# command). docker-compose.yml disables the healthcheck for the worker service, and Kubernetes
# ignores HEALTHCHECK (define probes in the pod spec), so this is only a fallback for a bare
# `docker run ... worker`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e ' \
    const fs = process.getBuiltinModule("node:fs"); \
    const args = fs.readFileSync("/proc/1/cmdline", "utf8").split("\0"); \
    if (args.includes("worker")) process.exit(0); \
    fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`, { signal: AbortSignal.timeout(4000) }) \
      .then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1));'

ENTRYPOINT ["tini", "--", "node", "bin/ai-fix.js"]
CMD ["start"]

# --- Stage 3: full, the runtime plus the common toolchains -------------------------------------
# Debian's packages, so everything is under /usr (and /usr/lib/jvm), which a bwrap box sees
# read-only; caches and downloads (pip, Go, Cargo, Maven) go under $HOME, the task's scratch home.
FROM slim AS full
USER root
# man1: openjdk's postinst links its man pages there and fails where slim images have no man dir.
# rustc-web/cargo-web: Debian 12's newer Rust (kept current for its browsers); its rustc/cargo are
# 1.63/1.65, whose cargo cannot read today's Cargo.lock (version 4).
# python3-dev: C extensions need Python's headers; pip only recommends them.
# Not gradle: Debian 12 has Gradle 4.4.1, too old for today's build scripts.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential make pkg-config unzip xz-utils \
      python3 python3-dev python3-pip python3-venv python3-pytest \
      golang-go \
      rustc-web cargo-web \
      default-jdk-headless maven \
 && rm -rf /var/lib/apt/lists/*
# default-java: the JDK's path without its architecture. GOPATH and GOCACHE stay unset, so Go
# uses $HOME/go and $HOME/.cache/go-build: in a box, the task's scratch home.
ENV JAVA_HOME=/usr/lib/jvm/default-java
USER node

# --- Last stage: what a plain `docker build .` produces -----------------------------------------
# slim: the server never needs toolchains, and JavaScript repositories need no more. BuildKit
# builds only the stages this one needs, so `full` is skipped.
FROM slim
