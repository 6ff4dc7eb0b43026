#pragma once

// The one configuration entry that points a station at a shared PostgreSQL database:
//
//   postgresql://[user@]host[:port]/dbname[?sslmode=verify-full&sslrootcert=/etc/x.pem]
//
// No password in the URL: it would end up in configuration files, backups and messages.
// libpq finds it in $PGPASSFILE or ~/.pgpass, or the server trusts the user (peer/cert auth).
// docs/configuration.md, docs/deployment.md.

#include "common/result.h"
#include "db/database.h"

namespace keyline::db {

// BadInput naming the problem (wrong scheme, a password, no database name, a bad port, a
// query key that is not a known libpq connection option).
Result<DatabaseOptions> databaseOptionsFromUrl(const QString& url);

} // namespace keyline::db
