#!/bin/bash
# Runs once, on the replica's first start (docker-entrypoint-initdb.d): follow the primary by
# GTID auto-position from its first transaction (database, application user, then migrations),
# then make this server read-only for everyone, SUPER included.
set -euo pipefail
root=(mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}")

for i in $(seq 1 60); do
  if mysqladmin ping -h "${PRIMARY_HOST}" -u"${REPLICATION_USER}" -p"${REPLICATION_PASSWORD}" --silent 2>/dev/null; then break; fi
  echo "switchboard: waiting for the primary ${PRIMARY_HOST} ($i)"
  sleep 2
done

"${root[@]}" <<SQL
STOP REPLICA;
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = '${PRIMARY_HOST}',
  SOURCE_PORT = 3306,
  SOURCE_USER = '${REPLICATION_USER}',
  SOURCE_PASSWORD = '${REPLICATION_PASSWORD}',
  SOURCE_AUTO_POSITION = 1,
  GET_SOURCE_PUBLIC_KEY = 1,
  SOURCE_CONNECT_RETRY = 5;
START REPLICA;
SET PERSIST read_only = ON;
SET PERSIST super_read_only = ON;
SQL
echo "switchboard: replica follows ${PRIMARY_HOST} (GTID auto-position)"
