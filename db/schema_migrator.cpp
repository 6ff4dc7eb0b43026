#include "db/schema_migrator.h"

#include "db/database.h"
#include "db/timestamp.h"

namespace keyline::db {

namespace {

QStringList version1() {
    return {
        QStringLiteral("CREATE TABLE schema_migrations ("
                       " version INTEGER NOT NULL PRIMARY KEY,"
                       " description TEXT NOT NULL,"
                       " applied_at TEXT NOT NULL)"),
        QStringLiteral("CREATE TABLE orders ("
                       " id TEXT NOT NULL PRIMARY KEY,"
                       " customer_id TEXT NOT NULL,"
                       " environment TEXT NOT NULL CHECK (environment IN ('dev', 'prod')),"
                       " quantity INTEGER NOT NULL CHECK (quantity > 0),"
                       " package_path TEXT NOT NULL,"
                       " package_sha256 TEXT NOT NULL,"
                       " keystore_sha256 TEXT NOT NULL,"
                       " state TEXT NOT NULL CHECK (state IN ('open', 'closed')),"
                       " created_by TEXT NOT NULL,"
                       " created_at TEXT NOT NULL,"
                       " closed_at TEXT)"),
        QStringLiteral("CREATE TABLE devices ("
                       " id TEXT NOT NULL PRIMARY KEY,"
                       " order_id TEXT NOT NULL REFERENCES orders (id),"
                       " seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 99999),"
                       " chip_uid TEXT NOT NULL UNIQUE,"
                       " slot TEXT NOT NULL,"
                       " state TEXT NOT NULL,"
                       " failure_reason TEXT NOT NULL,"
                       " scrapped INTEGER NOT NULL CHECK (scrapped IN (0, 1)),"
                       " created_at TEXT NOT NULL,"
                       " updated_at TEXT NOT NULL,"
                       " UNIQUE (order_id, seq))"),
        QStringLiteral("CREATE TABLE step_results ("
                       " id {{ID}},"
                       " device_id TEXT NOT NULL REFERENCES devices (id),"
                       " step TEXT NOT NULL,"
                       " attempt INTEGER NOT NULL CHECK (attempt > 0),"
                       " result TEXT NOT NULL CHECK (result IN ('pass', 'fail')),"
                       " detail TEXT NOT NULL,"
                       " recorded_at TEXT NOT NULL,"
                       " UNIQUE (device_id, step, attempt))"),
        QStringLiteral("CREATE TABLE certificates ("
                       " serial TEXT NOT NULL PRIMARY KEY,"
                       " device_id TEXT NOT NULL UNIQUE REFERENCES devices (id),"
                       " order_id TEXT NOT NULL REFERENCES orders (id),"
                       " public_key_sha256 TEXT NOT NULL,"
                       " der {{BLOB}} NOT NULL,"
                       " issued_at TEXT NOT NULL)"),
        QStringLiteral("CREATE TABLE device_public_keys ("
                       " sha256 TEXT NOT NULL PRIMARY KEY,"
                       " device_id TEXT NOT NULL REFERENCES devices (id),"
                       " first_seen_at TEXT NOT NULL)"),
        // No foreign key on order_id: the audit log outlives and records what it names.
        QStringLiteral("CREATE TABLE audit_log ("
                       " seq BIGINT NOT NULL PRIMARY KEY,"
                       " recorded_at TEXT NOT NULL,"
                       " station_id TEXT NOT NULL,"
                       " operator TEXT NOT NULL,"
                       " order_id TEXT NOT NULL,"
                       " event TEXT NOT NULL,"
                       " details TEXT NOT NULL,"
                       " prev_hash TEXT NOT NULL,"
                       " order_prev_hash TEXT NOT NULL,"
                       " hash TEXT NOT NULL UNIQUE)"),
        QStringLiteral("CREATE TABLE outbox ("
                       " id {{ID}},"
                       " device_id TEXT NOT NULL REFERENCES devices (id),"
                       " kind TEXT NOT NULL,"
                       " payload TEXT NOT NULL,"
                       " attempts INTEGER NOT NULL CHECK (attempts >= 0),"
                       " next_attempt_at TEXT NOT NULL,"
                       " state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),"
                       " last_error TEXT NOT NULL,"
                       " created_at TEXT NOT NULL,"
                       " updated_at TEXT NOT NULL,"
                       " UNIQUE (device_id, kind))"),
    };
}

QStringList version2() {
    return {
        QStringLiteral("CREATE TABLE operators ("
                       " name TEXT NOT NULL PRIMARY KEY,"
                       " role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor', "
                       "'engineer')),"
                       " pin_hash TEXT NOT NULL,"
                       " active INTEGER NOT NULL CHECK (active IN (0, 1)),"
                       " created_at TEXT NOT NULL,"
                       " updated_at TEXT NOT NULL)"),
        // The engine's and the sync client's frequent queries.
        QStringLiteral("CREATE INDEX devices_by_order_state ON devices (order_id, state)"),
        QStringLiteral("CREATE INDEX certificates_by_order ON certificates (order_id)"),
        QStringLiteral("CREATE INDEX outbox_due ON outbox (state, next_attempt_at)"),
        QStringLiteral("CREATE INDEX audit_log_by_order ON audit_log (order_id, seq)"),
    };
}

// One audit chain per station (docs/audit.md): seq counts within a station, so the key becomes
// (station_id, seq). Neither database changes a primary key in place: the table is rebuilt and
// the entries copied unchanged (their hashes cover seq and the links, which a log written by
// one station keeps as they are).
QStringList version3() {
    return {
        QStringLiteral("CREATE TABLE audit_log_v3 ("
                       " station_id TEXT NOT NULL,"
                       " seq BIGINT NOT NULL,"
                       " recorded_at TEXT NOT NULL,"
                       " operator TEXT NOT NULL,"
                       " order_id TEXT NOT NULL,"
                       " event TEXT NOT NULL,"
                       " details TEXT NOT NULL,"
                       " prev_hash TEXT NOT NULL,"
                       " order_prev_hash TEXT NOT NULL,"
                       " hash TEXT NOT NULL UNIQUE,"
                       " PRIMARY KEY (station_id, seq))"),
        QStringLiteral("INSERT INTO audit_log_v3 (station_id, seq, recorded_at, operator, "
                       "order_id, event, details, prev_hash, order_prev_hash, hash) "
                       "SELECT station_id, seq, recorded_at, operator, order_id, event, details, "
                       "prev_hash, order_prev_hash, hash FROM audit_log"),
        QStringLiteral("DROP TABLE audit_log"),
        QStringLiteral("ALTER TABLE audit_log_v3 RENAME TO audit_log"),
        QStringLiteral("CREATE INDEX audit_log_by_station_order ON audit_log "
                       "(station_id, order_id, seq)"),
    };
}

} // namespace

const std::vector<SchemaStep>& schemaSteps() {
    static const std::vector<SchemaStep> steps = {
        {1, QStringLiteral("orders, devices, steps, certificates, keys, audit log, outbox"),
         version1()},
        {2, QStringLiteral("operators with roles and PIN hashes; indexes for the engine"),
         version2()},
        {3, QStringLiteral("one audit chain per station, for a line of stations"), version3()},
    };
    return steps;
}

int latestSchemaVersion() {
    return schemaSteps().back().version;
}

Result<int> SchemaMigrator::currentVersion() {
    const QStringList tables = m_db.tables();
    if (!tables.contains(QLatin1String("schema_migrations"))) {
        if (!tables.isEmpty())
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("the database has tables but no Keyline schema: point "
                                        "the station at an empty or a Keyline database"));
        return 0;
    }
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT MAX(version) FROM "
                                                        "schema_migrations")));
    return q.next() ? q.value(0).toInt() : 0;
}

Result<void> SchemaMigrator::migrateTo(int version) {
    if (version < 1 || version > latestSchemaVersion())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("schema version %1 does not exist (latest is %2)")
                         .arg(version)
                         .arg(latestSchemaVersion()));
    KL_TRY_ASSIGN(const int current, currentVersion());
    if (current > latestSchemaVersion())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("database schema v%1 is newer than this station supports "
                                    "(v%2): update the station software")
                         .arg(current)
                         .arg(latestSchemaVersion()));
    if (current > version)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("database schema is v%1; migrations only go forward, not "
                                    "back to v%2 (restore a backup instead)")
                         .arg(current)
                         .arg(version));
    for (const SchemaStep& step : schemaSteps()) {
        if (step.version > current && step.version <= version)
            KL_TRY(std::move(apply(step))
                       .context(QStringLiteral("migrate schema to v%1").arg(step.version)));
    }
    return success();
}

Result<void> SchemaMigrator::apply(const SchemaStep& step) {
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    // Stations of a line start together against one PostgreSQL database: one migrates, the
    // others wait here and then find the step done.
    KL_TRY(m_db.lockName(QStringLiteral("keyline-schema")));
    KL_TRY_ASSIGN(const int current, currentVersion());
    if (current >= step.version)
        return tx.commit();
    for (const QString& statement : step.statements)
        KL_TRY(m_db.exec(m_db.dialect().schemaSql(statement)));
    KL_TRY(m_db.exec(QStringLiteral("INSERT INTO schema_migrations (version, description, "
                                    "applied_at) VALUES (?, ?, ?)"),
                     {step.version, step.description, timestampNow()}));
    return tx.commit();
}

} // namespace keyline::db
