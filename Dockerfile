# natplan image: both programs (`natplan operator`, `natplan agent`, `natplan cleanup`).
# Kept for machines with a Docker engine. CI has none: it builds the same image with
# tools/image/build.sh (Debian bookworm + the Node.js pinned in tools/image/node-version,
# whose major this file's base must match; tools/image/runtime.test.ts checks it).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY controller-kit controller-kit
COPY netaddr netaddr
COPY crds crds
COPY operator operator
COPY node-agent node-agent
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
# The agent's dataplane tools; the operator needs none of them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iptables conntrack iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
ENV NODE_ENV=production
ENTRYPOINT ["node", "/app/dist/bin/natplan.js"]
