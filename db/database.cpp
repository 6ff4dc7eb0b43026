#include "db/database.h"

#include "db/schema_migrator.h"

#include <QDir>
#include <QFileInfo>
#include <QSqlError>
#include <atomic>
#include <optional>

namespace keyline::db {

namespace {

QString newConnectionName() {
    static std::atomic<int> counter{0};
    return QStringLiteral("keyline-db-%1").arg(++counter);
}

QString driverPackage(const QString& driver) {
    return driver == QLatin1String("QPSQL") ? QStringLiteral("libqt6sql6-psql")
                                            : QStringLiteral("libqt6sql6-sqlite");
}

Result<QString> prepareSqliteFile(const QString& path) {
    if (path.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("no database file given"));
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath()))
        return Error(ErrorCode::Io, QStringLiteral("cannot create the database folder %1: check "
                                                   "its parent exists and is writable")
                                        .arg(info.absolutePath()));
    if (info.exists() && (!info.isFile() || !info.isReadable() || !info.isWritable()))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("database file %1 is not a readable and writable file: check "
                                    "its owner and permissions")
                         .arg(info.absoluteFilePath()));
    return info.absoluteFilePath();
}

QString postgresDescription(const DatabaseOptions& options) {
    QString text = QStringLiteral("postgresql://");
    if (!options.user.isEmpty())
        text += options.user + QLatin1Char('@');
    return text + options.host + QLatin1Char(':') + QString::number(options.port) +
           QLatin1Char('/') + options.name;
}

// What a person does about the PostgreSQL SQLSTATEs a station meets; none for the rest.
std::optional<QString> postgresAdvice(const QString& state) {
    if (state.startsWith(QLatin1String("08")) || state.startsWith(QLatin1String("57P")))
        return QStringLiteral("the connection to the database server was lost; check the "
                              "server is up and restart the station");
    if (state == QLatin1String("42501") || state == QLatin1String("25006"))
        return QStringLiteral("the database user may not write here; grant it the Keyline "
                              "tables (docs/deployment.md)");
    if (state == QLatin1String("53100"))
        return QStringLiteral("the database server's disk is full; free space and retry");
    return std::nullopt;
}

} // namespace

Database::Database(QSqlDatabase connection, QString description)
    : m_connectionName(connection.connectionName())
    , m_connection(std::move(connection))
    , m_dialect(m_connection.driverName())
    , m_description(std::move(description)) {}

Database::~Database() {
    if (m_transactionDepth > 0)
        (void)exec(QStringLiteral("ROLLBACK"));
    // Statements belong to the connection: gone before it closes.
    m_kept.clear();
    m_uncached = QSqlQuery();
    m_connection.close();
    // Qt keeps the connection by name until removed; the handle must be gone first.
    m_connection = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
}

Result<std::unique_ptr<Database>> Database::open(const DatabaseOptions& options) {
    if (!SqlDialect::supports(options.driver))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("database driver %1 is not supported: use QSQLITE or QPSQL")
                         .arg(options.driver));
    if (!QSqlDatabase::isDriverAvailable(options.driver))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the Qt SQL driver %1 is not installed: install %2")
                         .arg(options.driver, driverPackage(options.driver)));

    const QString name = newConnectionName();
    QString description;
    {
        QSqlDatabase connection = QSqlDatabase::addDatabase(options.driver, name);
        if (options.driver == QLatin1String("QSQLITE")) {
            auto path = prepareSqliteFile(options.name);
            if (!path.ok()) {
                connection = QSqlDatabase();
                QSqlDatabase::removeDatabase(name);
                return std::move(path).error();
            }
            connection.setDatabaseName(*path);
            connection.setConnectOptions(
                QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(options.busyTimeoutMs));
            description = QStringLiteral("sqlite:") + *path;
        } else {
            connection.setDatabaseName(options.name);
            connection.setHostName(options.host);
            connection.setPort(options.port);
            connection.setUserName(options.user);
            connection.setPassword(options.password);
            QString connect = QStringLiteral("connect_timeout=5");
            if (!options.connectOptions.isEmpty())
                connect += QLatin1Char(';') + options.connectOptions;
            connection.setConnectOptions(connect);
            description = postgresDescription(options);
        }
        if (!connection.open()) {
            const QString text = connection.lastError().text();
            connection = QSqlDatabase();
            QSqlDatabase::removeDatabase(name);
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("cannot open database %1: %2: check the path or server "
                                        "and its permissions")
                             .arg(description, text));
        }
    }
    std::unique_ptr<Database> db(new Database(QSqlDatabase::database(name, false), description));
    KL_TRY(std::move(db->configureConnection(options)).context(description));
    const int target =
        options.targetSchemaVersion < 0 ? latestSchemaVersion() : options.targetSchemaVersion;
    KL_TRY(std::move(db->migrateTo(target)).context(description));
    return db;
}

Result<void> Database::configureConnection(const DatabaseOptions& options) {
    if (!m_dialect.isSqlite())
        return success();
    (void)options;
    // WAL: readers (an export) never block the writer; synchronous=FULL: a commit is on disk
    // (WAL fsynced) before COMMIT returns, so a committed step survives a power cut.
    KL_TRY_ASSIGN(QSqlQuery wal, exec(QStringLiteral("PRAGMA journal_mode=WAL")));
    if (!wal.next() || wal.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the database cannot use write-ahead logging: keep it on a "
                                    "local file system"));
    KL_TRY(exec(QStringLiteral("PRAGMA synchronous=FULL")));
    KL_TRY(exec(QStringLiteral("PRAGMA foreign_keys=ON")));
    KL_TRY_ASSIGN(QSqlQuery fk, exec(QStringLiteral("PRAGMA foreign_keys")));
    if (!fk.next() || fk.value(0).toInt() != 1)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("this SQLite build cannot enforce foreign keys"));
    return success();
}

Result<int> Database::schemaVersion() {
    return SchemaMigrator(*this).currentVersion();
}

Result<void> Database::migrateTo(int version) {
    return SchemaMigrator(*this).migrateTo(version);
}

Result<QStringList> Database::integrityCheck() {
    if (!m_dialect.isSqlite())
        return QStringList{};
    KL_TRY_ASSIGN(QSqlQuery q, exec(QStringLiteral("PRAGMA integrity_check")));
    QStringList problems;
    while (q.next()) {
        const QString line = q.value(0).toString();
        if (line != QLatin1String("ok"))
            problems << line;
    }
    return problems;
}

Result<Transaction> Database::begin() {
    if (m_transactionDepth == 0) {
        KL_TRY(std::move(run(m_dialect.beginTransactionSql()))
                   .context(QStringLiteral("begin transaction")));
        m_rollbackOnly = false;
    }
    ++m_transactionDepth;
    return Transaction(this, m_transactionDepth == 1);
}

Result<void> Database::endTransaction(bool commit) {
    m_transactionDepth = 0;
    const bool poisoned = m_rollbackOnly;
    m_rollbackOnly = false;
    if (commit && !poisoned) {
        auto committed = run(QStringLiteral("COMMIT"));
        if (committed.ok())
            return success();
        (void)exec(QStringLiteral("ROLLBACK"));
        return std::move(committed).error().context(QStringLiteral("commit"));
    }
    (void)exec(QStringLiteral("ROLLBACK"));
    if (commit)
        return Error(ErrorCode::Internal,
                     QStringLiteral("a step inside the transaction failed and was ignored; "
                                    "nothing was committed"));
    return success();
}

void Database::leaveJoinedTransaction(bool committed) {
    if (!committed)
        m_rollbackOnly = true;
    --m_transactionDepth;
}

Result<void> Database::lockName(const QString& name) {
    if (m_transactionDepth == 0)
        return Error(ErrorCode::Internal,
                     QStringLiteral("lock %1 outside a transaction").arg(name));
    const QString sql = m_dialect.namedLockSql();
    if (sql.isEmpty())
        return success();
    KL_TRY(std::move(exec(sql, {name})).context(QStringLiteral("lock ") + name));
    return success();
}

Result<QSqlQuery> Database::exec(const QString& sql, const QVariantList& values) {
    QSqlQuery query(m_connection);
    query.setForwardOnly(true);
    // PostgreSQL prepares only SELECT, INSERT, UPDATE, DELETE and VALUES: transaction control
    // and the schema's DDL, which never take values, run as plain statements.
    if (values.isEmpty() && !m_dialect.isSqlite()) {
        if (!query.exec(sql))
            return errorFrom(QStringLiteral("execute"), query.lastError());
        return query;
    }
    if (!query.prepare(sql))
        return errorFrom(QStringLiteral("prepare"), query.lastError());
    bindAll(query, values);
    if (!query.exec())
        return errorFrom(QStringLiteral("execute"), query.lastError());
    return query;
}

void Database::bindAll(QSqlQuery& query, const QVariantList& values) const {
    for (int i = 0; i < values.size(); ++i) {
        const QVariant& value = values.at(i);
        // Qt binds a null QString as SQL NULL; the schema stores "none" as '' (NOT NULL
        // columns), so a default-constructed QString means the empty text here.
        if (value.typeId() == QMetaType::QString && value.toString().isNull())
            query.bindValue(i, QStringLiteral(""));
        else
            query.bindValue(i, value);
    }
}

Result<QSqlQuery*> Database::runKept(const QString& sql, const QVariantList& values) {
    constexpr std::size_t kMaxKept = 64;
    auto it = m_kept.find(sql);
    if (!m_dialect.isSqlite() || (it == m_kept.end() && m_kept.size() >= kMaxKept)) {
        KL_TRY_ASSIGN(m_uncached, exec(sql, values));
        return &m_uncached;
    }
    if (it == m_kept.end()) {
        auto query = std::make_unique<QSqlQuery>(m_connection);
        query->setForwardOnly(true);
        if (!query->prepare(sql))
            return errorFrom(QStringLiteral("prepare"), query->lastError());
        it = m_kept.emplace(sql, std::move(query)).first;
    }
    QSqlQuery& query = *it->second;
    bindAll(query, values);
    if (!query.exec()) {
        Error error = errorFrom(QStringLiteral("execute"), query.lastError());
        m_kept.erase(it); // prepared afresh next time, whatever state the failure left
        return error;
    }
    return &query;
}

Result<void> Database::run(const QString& sql, const QVariantList& values) {
    KL_TRY_ASSIGN(QSqlQuery * query, runKept(sql, values));
    query->finish();
    return success();
}

Result<int> Database::runCounting(const QString& sql, const QVariantList& values) {
    KL_TRY_ASSIGN(QSqlQuery * query, runKept(sql, values));
    const int changed = query->numRowsAffected();
    query->finish();
    return changed;
}

Result<std::optional<QSqlRecord>> Database::one(const QString& sql, const QVariantList& values) {
    KL_TRY_ASSIGN(QSqlQuery * query, runKept(sql, values));
    std::optional<QSqlRecord> row;
    if (query->next())
        row = query->record();
    else if (query->lastError().isValid())
        return errorFrom(QStringLiteral("fetch"), query->lastError());
    query->finish();
    return row;
}

Error Database::errorFrom(const QString& what, const QSqlError& error) const {
    const QString text = error.text();
    if (m_dialect.isSqlite())
        return sqliteError(what, error);
    if (error.type() == QSqlError::ConnectionError)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1: %2: check the database server is up").arg(what, text));
    if (m_dialect.isTransientConflict(error))
        return transientConflict(what, text);
    if (auto advice = postgresAdvice(error.nativeErrorCode()))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1: %2: %3").arg(what, text, *advice));
    return Error(ErrorCode::Io, QStringLiteral("%1: %2").arg(what, text));
}

Error Database::transientConflict(const QString& what, const QString& text) const {
    return Error(ErrorCode::Io, QStringLiteral("%1: %2: another station changed the same rows at "
                                               "the same time; run it again")
                                    .arg(what, text));
}

// Qt's SQLite driver reports every failed step as a ConnectionError ("Unable to fetch row"):
// the result code tells what happened. Errors of the file itself name it, so an operator
// knows which database to look at.
Error Database::sqliteError(const QString& what, const QSqlError& error) const {
    const QString text = error.text();
    if (m_dialect.isTransientConflict(error))
        return transientConflict(what, text);
    auto named = [&](const QString& advice) {
        return Error(
            ErrorCode::EnvironmentNotReady,
            QStringLiteral("database %1: %2: %3: %4").arg(m_description, what, text, advice));
    };
    // SQLite's primary result code is the low byte of the (possibly extended) code.
    switch (error.nativeErrorCode().toInt() & 0xff) {
    case 5: // SQLITE_BUSY
    case 6: // SQLITE_LOCKED
        return named(QStringLiteral("another process holds it locked; stop that process "
                                    "(another keyline, a backup, an sqlite3 shell), then run "
                                    "again"));
    case 8:  // SQLITE_READONLY
    case 14: // SQLITE_CANTOPEN
        return named(QStringLiteral("check the database file and its folder are writable"));
    case 11: // SQLITE_CORRUPT
    case 26: // SQLITE_NOTADB
        return named(QStringLiteral("the file is not a sound database; move it away and "
                                    "restore the last backup"));
    // A full disk, or a write the file system refused (EFBIG past a file size limit is
    // SQLITE_IOERR_WRITE): nothing was committed; the station cannot go on until the disk
    // takes writes again.
    case 13: // SQLITE_FULL
    case 10: // SQLITE_IOERR
        return named(QStringLiteral("the disk is full or failing; free space on it, then run "
                                    "again"));
    default:
        break;
    }
    // Anything else (a constraint the repositories did not foresee) concerns one write, not
    // the database as a whole: the device fails, the run goes on.
    return Error(ErrorCode::Io,
                 QStringLiteral("database %1: %2: %3").arg(m_description, what, text));
}

} // namespace keyline::db
