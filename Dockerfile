# One image for the portal: web, worker, beat and the sandbox differ only by command.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY . .
# collectstatic needs settings but no secrets of consequence; the real key comes at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/unused.sqlite3 CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 hangar && mkdir -p var && chown hangar var
USER hangar
EXPOSE 8000
# One uvicorn worker process per CPU core unless WEB_CONCURRENCY says otherwise (scripts/web).
CMD ["scripts/web"]
