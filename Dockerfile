# Terrain backend image. Multi-stage: build wheels once, run as a non-root user.
# Build: docker build -t terrain .
# Run:   docker run -p 8000:8000 -e TERRAIN_SECRET_KEY=... -e TERRAIN_ENVIRONMENT=production \
#          -e TERRAIN_DATABASE_URL=postgresql+psycopg://terrain:...@db:5432/terrain terrain

# The field app (PWA), built from its lock file.
FROM node:20-slim AS app
WORKDIR /pwa
COPY pwa/package.json pwa/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY pwa ./
RUN npm run build

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock pyproject.toml README.md ./
COPY backend ./backend
# Wheels for the pinned dependencies and for Terrain itself; the runtime stage installs only these.
RUN pip wheel --wheel-dir /wheels -r requirements.lock \
 && pip wheel --wheel-dir /wheels --no-deps .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TERRAIN_DATA_DIR=/var/lib/terrain TERRAIN_ENVIRONMENT=production TERRAIN_APP_DIR=/app/pwa
RUN groupadd --system terrain && useradd --system --gid terrain --home-dir /app terrain \
 && mkdir -p /app /var/lib/terrain && chown terrain:terrain /var/lib/terrain
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels terrain && rm -rf /wheels
# Migrations and the example specs travel with the image; alembic.ini points at migrations/.
COPY alembic.ini ./
COPY migrations ./migrations
COPY survey_specs ./survey_specs
COPY --from=app /pwa/dist ./pwa
USER terrain
EXPOSE 8000
VOLUME ["/var/lib/terrain"]
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/health').status == 200 else 1)"
# Migrations first, then the server; uvicorn binds all interfaces inside the container only.
CMD ["sh", "-c", "terrain db upgrade && exec terrain serve --host 0.0.0.0 --port 8000"]
