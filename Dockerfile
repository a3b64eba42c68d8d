# hostpath-csi driver image: the same image runs the single-node pod (--mode=all) and the distributed DaemonSet.
#   docker build -t ghcr.io/hostpath-csi/hostpath-csi:$(node -p 'require("./package.json").version') .
# Node.js 24 (Krypton) is the newest LTS line: the newest 26.x (26.10.0) is not an LTS release yet; move to 26 once
# it is. Debian 13 (trixie) is Debian's stable release.
# test/deploy/image-layout.test.ts rebuilds the runtime stage's /app without Docker and runs it: keep the runtime
# stage's COPY and `npm ci` lines in the shape that test reads.
ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm 11 records only the building platform's optional native packages in the lock file and then `npm ci` refuses
# that lock file (npm/cli#4828, see scripts/npm-install.sh); `npm install --no-save` installs the same locked versions.
RUN npm ci --no-audit --no-fund || npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
# npm run build is tsc and then this bundler (dist/bundle/, what the runtime stage copies).
COPY scripts/bundle.js ./scripts/bundle.js
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="hostpath-csi" \
      org.opencontainers.image.description="CSI driver that turns local directories on a node into PersistentVolumes" \
      org.opencontainers.image.source="https://github.com/hostpath-csi/hostpath-csi" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-trixie-slim"
# mount/umount (mount), losetup (util-linux), cp with --reflink (coreutils); mkfs.ext4 and resize2fs (e2fsprogs),
# mkfs.xfs and xfs_growfs (xfsprogs) for filesystems on block volumes.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      mount util-linux coreutils e2fsprogs xfsprogs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# V8's young generation capped at 1 MiB per semi-space (default up to 16 MiB): idle RSS -3 MiB and peak RSS under
# a create/delete storm about -30 MiB, for more (sub-millisecond) scavenges; see docs/performance.md. scripts/run.sh
# passes the same flag, and the bench starts the driver with this line's value.
ENV NODE_OPTIONS=--max-semi-space-size=1
# package.json is read at run time for --version; proto/ is loaded at start-up (src/server/proto.ts).
COPY package.json package-lock.json ./
RUN { npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      || npm install --omit=dev --no-save --ignore-scripts --no-audit --no-fund; } \
 && npm cache clean --force
# The bundled build (scripts/bundle.js): dist/main.js is the launcher, dist/driver.js the driver and its npm
# dependencies in one file; koffi (native) and pino-pretty are loaded from node_modules.
COPY --from=build /src/dist/bundle ./dist
COPY proto ./proto
# Fills V8's compile cache (dist/.compile-cache, see src/launch.ts) once, so every start from this image reads the
# driver's compiled code instead of compiling it again.
RUN node /app/dist/main.js --version >/dev/null
# Runs as root: bind mounts and loop devices need it (the pod makes the container privileged as well).
ENTRYPOINT ["node", "/app/dist/main.js"]
