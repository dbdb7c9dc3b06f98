# The kr-tracker service image: `krt serve`, `krt worker` and the other commands.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY src src
COPY connectors connectors
COPY dashboards dashboards
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
COPY config config
USER node
EXPOSE 9464
ENTRYPOINT ["node", "bin/krt.js"]
# In a container the service listens on every interface (outside one, the default is 127.0.0.1);
# protect /api/* with server.auth when the port is published beyond a trusted network.
CMD ["serve", "--config", "/app/config/okrs.yaml", "--host", "0.0.0.0"]
