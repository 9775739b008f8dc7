FROM python:3.12-slim
WORKDIR /api
COPY . .
RUN pip install -e .
CMD uvicorn api.main:app --host 0.0.0.0 --port 8000
