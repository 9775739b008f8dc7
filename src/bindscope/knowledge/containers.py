"""Container facts `bindscope audit` needs, as plain data: which images are datastores or admin
UIs (a published port of theirs is worse than a web app's), and which environment variables
switch a debug mode on. Image names are matched on the last path component of the repository,
without registry or tag (`docker.io/library/postgres:16` -> `postgres`, `bitnami/redis` ->
`redis`), by prefix (`redis-stack`, `postgresql` match `redis`, `postgres`).
"""

from __future__ import annotations

import functools

from .servers import DATASTORE, FLASK_OFF, SERVERS

# Databases, caches, queues, search engines, object stores: none of them belongs on every host
# address, and most of them ship without a password or with a well-known one.
DATASTORE_IMAGES: tuple[str, ...] = (
    "postgres",
    "postgis",
    "timescaledb",
    "mysql",
    "mariadb",
    "percona",
    "mssql",
    "redis",
    "valkey",
    "keydb",
    "dragonfly",
    "mongo",  # also mongodb; mongo-express is an admin UI (matched first)
    "memcached",
    "elasticsearch",
    "opensearch",
    "solr",
    "meilisearch",
    "typesense",
    "rabbitmq",
    "kafka",
    "cp-kafka",
    "zookeeper",
    "nats",
    "cassandra",
    "scylla",
    "couchdb",
    "couchbase",
    "influxdb",
    "clickhouse",
    "neo4j",
    "arangodb",
    "cockroach",
    "minio",
    "etcd",
    "consul",
    "vault",
    "qdrant",
    "chroma",
    "weaviate",
    "milvus",
)

# Web UIs that administer a datastore or the host (or catch mail / show debug data): a published
# one is a login page (often with a default password) or no login at all.
ADMIN_IMAGES: tuple[str, ...] = (
    "adminer",
    "phpmyadmin",
    "pgadmin",
    "pgadmin4",
    "mongo-express",
    "redis-commander",
    "redisinsight",
    "kibana",
    "opensearch-dashboards",
    "portainer",
    "portainer-ce",
    "grafana",
    "mailhog",
    "mailpit",
    "flower",
)

# Default ports of datastores, for a service built from a local Dockerfile (no image name to go
# by) that publishes one of them: those of the server table, and of datastores it has no Bind for
# (Elasticsearch 9200, RabbitMQ 5672, Cassandra 9042, CouchDB 5984, InfluxDB 8086, etcd 2379).
DATASTORE_PORTS: frozenset[int] = frozenset(
    {s.bind.port for s in SERVERS if s.category == DATASTORE and s.bind is not None and s.bind.port}
    | {9200, 5672, 9042, 5984, 8086, 2379}
)

# Environment variables that switch a debug mode on: (name, values that mean "on" (any case);
# empty: any non-empty value except those in `off`, values that mean "off").
#  FLASK_DEBUG: Flask's get_debug_flag() (the "off" values of knowledge/servers.py's flask debug_env)
#  FLASK_ENV=development: Flask < 2.3 switched the debugger on with it
#  DEBUG / DJANGO_DEBUG: the usual switch read by Django settings (`DEBUG = env.bool("DEBUG")`)
#  DASH_DEBUG: Dash's app.run(debug=None) reads it (dev tools and the Werkzeug debugger)
#  WERKZEUG_DEBUG_PIN=off: the Werkzeug debugger without its PIN
DEBUG_ENV: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("FLASK_DEBUG", (), FLASK_OFF),
    ("FLASK_ENV", ("development",), ()),
    ("DEBUG", ("1", "true", "yes", "on"), ()),
    ("DJANGO_DEBUG", ("1", "true", "yes", "on"), ()),
    ("DASH_DEBUG", ("1", "true", "yes", "on"), ()),
    ("QUART_DEBUG", ("1", "true", "yes", "on"), ()),
    ("WERKZEUG_DEBUG_PIN", ("off",), ()),
)


def image_name(image: str) -> str:
    """`docker.io/library/postgres:16-alpine@sha256:..` -> `postgres`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


@functools.lru_cache(maxsize=256)  # a compose file names few images, each on many port items
def image_category(image: str) -> str:
    """ "admin", "datastore" or "" for an image reference."""
    name = image_name(image)
    if not name:
        return ""
    if any(name == a or name.startswith(a + "-") or name.startswith(a + "_") for a in ADMIN_IMAGES):
        return "admin"
    if any(name.startswith(d) for d in DATASTORE_IMAGES):
        return "datastore"
    return ""


def debug_env_on(name: str, value: str) -> bool:
    """Whether `name=value` switches a debug mode on."""
    for var, on, off in DEBUG_ENV:
        if var != name:
            continue
        low = value.strip().strip("'\"").lower()
        if on:
            return low in on
        return bool(low) and low not in off
    return False
