# syntax=docker/dockerfile:1
# Sanad's production image: `docker build -t sanad .`, then run the same image as the web server
# (the default command) and as the worker (see the end of this file). See README "Deploying".

# Node 24 is the current LTS (Node 20 reached its end of life); CI runs the tests on 24 too.
FROM node:24-bookworm-slim AS base
WORKDIR /app

# Everything, dev dependencies included, to build the browser bundle, Remix's server build and the
# compiled server, worker and scripts (build/server/, docs/decisions/016-compiled-server.md).
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime dependencies only: the compiled programs import nothing else (`npm run build` fails if
# they would import a dev dependency), and neither tsx nor TypeScript is installed.
FROM base AS runtime-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM base AS runtime
# NODE_ENV=production also for `npm run worker` and the db scripts, whose npm scripts do not set it:
# with it they run the compiled build/server/*.js (without it, the TypeScript through tsx, absent here).
ENV NODE_ENV=production \
    PORT=3000
COPY --from=runtime-deps /app/node_modules ./node_modules
# Plain JavaScript only: build/ holds Remix's build (build/index.js) and the compiled server,
# worker and scripts (build/server/); package.json gives the npm scripts and "type": "module".
COPY package.json package-lock.json ./
COPY --from=build /app/build ./build
COPY --from=build /app/public ./public
# The only place the app writes: ./data, for the embedded database of a one-container trial
# without DATABASE_URL. Appeal photos are in the database (docs/decisions/015).
RUN mkdir -p data && chown node:node data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs, without npm in between: on `docker stop` npm passes SIGTERM to the shell
# running the script, which dies without passing it on, so the server would be killed mid-request
# instead of finishing its requests in flight. The worker: the same image with
# `node build/server/worker.js` as its command; migrations as a release step:
# `node build/server/migrate.js`.
CMD ["node", "build/server/index.js"]
