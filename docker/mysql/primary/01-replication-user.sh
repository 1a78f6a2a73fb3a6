#!/bin/bash
# Runs once, on the primary's first start (docker-entrypoint-initdb.d). The image has already
# created MYSQL_DATABASE and MYSQL_USER; those statements are in the binary log with GTIDs and
# reach the replica through replication. The replication account itself is not logged.
set -euo pipefail
mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
SET @@SESSION.SQL_LOG_BIN = 0;
CREATE USER IF NOT EXISTS '${REPLICATION_USER}'@'%' IDENTIFIED BY '${REPLICATION_PASSWORD}';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${REPLICATION_USER}'@'%';
SET @@SESSION.SQL_LOG_BIN = 1;
-- The api reads SHOW REPLICA STATUS on the replicas (Seconds_Behind_Source, thread states) to keep
-- reads off a lagging one (docs/scaling/mysql.md); logged, so the replica gets the grant too.
GRANT REPLICATION CLIENT ON *.* TO '${MYSQL_USER}'@'%';
SQL
echo "switchboard: replication user ${REPLICATION_USER} ready on the primary"
