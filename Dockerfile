# The xingtu-worker image: the CLI, the Celery worker, beat (with RedBeat), Flower, the Aliyun and Tencent
# SMS senders and the receipts endpoint.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY models ./models
COPY migrations ./migrations
COPY worker ./worker
RUN pip install '.[ops,aliyun,tencent,receipts]' && useradd --system --uid 10001 --home-dir /app xingtu
USER xingtu
CMD ["xingtu", "worker"]
