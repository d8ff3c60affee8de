# gateway-medic: one image for the bot and the workers (`medic bot`, `medic worker`, `medic start`).
FROM node:20-bookworm-slim AS app
ENV NODE_ENV=production
WORKDIR /app
# openssh-client only for operators' convenience inside the container; medic speaks SSH itself.
RUN apt-get update && apt-get install -y --no-install-recommends openssh-client tini && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Scripts later: `prepare` precompiles the command line, which needs the sources copied first.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
COPY playbooks ./playbooks
COPY tsconfig.json ./
RUN npm run build
USER node
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/medic.js"]
CMD ["start"]

# The 502 lab as a target host: nginx, php-fpm 8.2 and sshd, put into a scenario by `lab up`.
# It needs root inside its container (it starts sshd, creates the lab users and sudo rules).
FROM node:20-bookworm-slim AS lab
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nginx php8.2-fpm php8.2-cli openssh-server openssh-client sudo procps iproute2 curl tini \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npm", "run", "lab", "--", "up", "--foreground"]
