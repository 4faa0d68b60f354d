# natplan image: both programs (`natplan operator`, `natplan agent`, `natplan cleanup`).
# Kept for machines with a Docker engine. CI has none: it builds the same image with
# tools/image/build.sh (Debian bookworm + the Node.js pinned in tools/image/node-version,
# whose major this file's base must match; tools/image/runtime.test.ts checks it).
FROM node:24-bookworm-slim AS build
WORKDIR /src
# The workspaces' manifests first: npm ci links node_modules/@natplan/* to their folders.
COPY package.json package-lock.json ./
COPY api/package.json api/
COPY netaddr/package.json netaddr/
COPY controller-kit/package.json controller-kit/
COPY operator/package.json operator/
COPY node-agent/package.json node-agent/
COPY e2e/package.json e2e/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY controller-kit controller-kit
COPY netaddr netaddr
COPY api api
COPY operator operator
COPY node-agent node-agent
RUN npx tsc -b tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --workspace=@natplan/operator --workspace=@natplan/node-agent --include-workspace-root \
 && rm -f node_modules/@natplan/e2e

FROM node:24-bookworm-slim
# The agent's dataplane tools; the operator needs none of them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iptables conntrack iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/api/package.json api/
COPY --from=build /src/api/dist api/dist
COPY --from=build /src/netaddr/package.json netaddr/
COPY --from=build /src/netaddr/dist netaddr/dist
COPY --from=build /src/controller-kit/package.json controller-kit/
COPY --from=build /src/controller-kit/dist controller-kit/dist
COPY --from=build /src/operator/package.json operator/
COPY --from=build /src/operator/dist operator/dist
COPY --from=build /src/node-agent/package.json node-agent/
COPY --from=build /src/node-agent/dist node-agent/dist
ENV NODE_ENV=production
# As tools/image/node-options (runtime.test.ts checks they agree): the packages' exports
# resolve to their compiled dist/ under natplan-dist; a young generation capped at 4 MiB
# a semi-space (Node 24 let it grow to 128 MiB in all) took an agent with 10k Services
# from 440 to 285 MiB of RSS at no cost in sync time (docs/operations.md#memory).
ENV NODE_OPTIONS="--conditions=natplan-dist --max-semi-space-size=4"
ENTRYPOINT ["node", "/app/dist/bin/natplan.js"]
