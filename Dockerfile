# The MGE operator image. Multi-stage: build a virtualenv with the package, copy it onto a slim
# base, run as a non-root user. The base is a build ARG so CI can build on a locally made Debian
# base (no registry here); the default is the usual public image.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; fi
RUN python3 -m venv /opt/mge
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN /opt/mge/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && find /opt/mge -name '__pycache__' -prune -exec rm -rf {} +

FROM ${BASE_IMAGE}
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 \
      && rm -rf /var/lib/apt/lists/*; fi \
 && groupadd --system --gid 65532 mge && useradd --system --uid 65532 --gid mge --no-create-home mge
COPY --from=build /opt/mge /opt/mge
ENV PATH=/opt/mge/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
USER 65532:65532
ENTRYPOINT ["mge"]
CMD ["operator", "run", "--all-namespaces"]
