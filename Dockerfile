# syntax=docker/dockerfile:1
# Sanad's production image: `docker build -t sanad .`, then run the same image as the web server
# (the default command) and as the worker (see the end of this file). See README "Deploying".

FROM node:20-bookworm-slim AS base
WORKDIR /app

# Everything, dev dependencies included, to build the browser bundle and the server build.
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime dependencies only. The server runs its TypeScript through tsx (`node --import tsx`),
# which is a runtime dependency; no dev dependency is loaded by the server, worker or db scripts.
FROM base AS runtime-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM base AS runtime
# NODE_ENV=production also for `npm run worker` and the db scripts, whose npm scripts do not set it.
ENV NODE_ENV=production \
    PORT=3000
COPY --from=runtime-deps /app/node_modules ./node_modules
# package.json maps the #app/#db/#emails imports; tsconfig.json tells tsx how to compile the JSX.
COPY package.json package-lock.json tsconfig.json ./
COPY app ./app
COPY db ./db
COPY scripts ./scripts
COPY emails ./emails
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
# `node --import tsx app/worker/index.ts` as its command.
CMD ["node", "--import", "tsx", "app/server/index.ts"]
