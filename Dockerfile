# The operator image: Node 24 LTS, the compiled operator, its production dependencies and the
# built web UI. Runs as a non-root user with a read-only root file system; history lives on the
# volume mounted at /data.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    # A small young generation: the operator's heap is long-lived objects; the default sizes it
    # from the host's memory, not the container's limit.
    NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 65532:65532
EXPOSE 8443 8080
VOLUME /data
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--listen=0.0.0.0:8080", "--data-dir=/data"]
