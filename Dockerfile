# The Patchbay worker image (docker-compose.yml). It runs from the TypeScript sources through tsx, a
# runtime dependency, exactly as `npx patchbay worker` does on a workstation.
FROM node:20-bookworm-slim
WORKDIR /opt/patchbay
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
# The worker talks to the Docker socket mounted from the host, which needs root or the socket's group
# (run with `--group-add $(stat -c %g /var/run/docker.sock)` and `USER node` to drop root).
ENV NODE_ENV=production
CMD ["node", "bin/patchbay.js", "worker"]
