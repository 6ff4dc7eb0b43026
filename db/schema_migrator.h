#pragma once

// The schema as an ordered list of forward-only steps. Step N takes a database at version N-1
// to version N in one transaction, together with its row in schema_migrations, so a power cut
// leaves the database at N-1 or N, never between. A released step is never edited: a change
// is a new step. The steps and every table: docs/database.md.

#include "common/result.h"

#include <QString>
#include <QStringList>
#include <vector>

namespace keyline::db {

class Database;

struct SchemaStep {
    int version;
    QString description;
    // Portable SQL with the dialect's placeholders ({{ID}}, {{BLOB}}).
    QStringList statements;
};

const std::vector<SchemaStep>& schemaSteps();
int latestSchemaVersion();

class SchemaMigrator {
public:
    explicit SchemaMigrator(Database& db)
        : m_db(db) {}

    // 0 for an empty database. EnvironmentNotReady for a database with tables but no Keyline
    // schema, or a schema newer than this build knows.
    Result<int> currentVersion();

    // Applies every step after the current version up to `version`. Going back is refused:
    // migrations are forward only (restore a backup instead).
    Result<void> migrateTo(int version);

private:
    Result<void> apply(const SchemaStep& step);

    Database& m_db;
};

} // namespace keyline::db
