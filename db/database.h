#pragma once

// The station's database connection: opens (or creates) it, applies the connection settings
// that make a committed transaction survive a power cut, migrates the schema forward and runs
// statements. Schema, migrations and the writer discipline: docs/database.md.
//
// One Database is one connection and belongs to the thread that opened it (a Qt SQL rule).
// All writes of a station go through one Database on one thread (the engine serialises them);
// readers such as the audit export may open their own. Not copyable; repositories hold a
// reference to it and never outlive it.

#include "common/result.h"
#include "db/sql_dialect.h"
#include "db/transaction.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QString>
#include <QStringList>
#include <QVariantList>
#include <memory>
#include <optional>
#include <unordered_map>

namespace keyline::db {

struct DatabaseOptions {
    QString driver = QStringLiteral("QSQLITE"); // or "QPSQL"
    QString name;     // SQLite: the file path (its folder is created); PostgreSQL: database name
    QString host;     // PostgreSQL only
    int port = 5432;  // PostgreSQL only
    QString user;     // PostgreSQL only
    QString password; // PostgreSQL only; never logged. Empty: libpq's PGPASSFILE/~/.pgpass
    // PostgreSQL only: further libpq keywords, "sslmode=verify-full;sslrootcert=/etc/x.pem".
    QString connectOptions;
    int busyTimeoutMs = 5000;
    // The schema version to migrate to; -1 for the latest. Tests stop at earlier versions.
    int targetSchemaVersion = -1;
};

class Database {
public:
    // Opens, sets WAL + synchronous=FULL + foreign keys (SQLite), and migrates to the target
    // version. EnvironmentNotReady (driver missing, server unreachable, a file that is not a
    // Keyline database, a schema newer than this station) or Io, naming what to do.
    static Result<std::unique_ptr<Database>> open(const DatabaseOptions& options);

    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    const SqlDialect& dialect() const { return m_dialect; }
    // "sqlite:/var/lib/keyline/keyline.db" or "postgresql://user@host:port/name", for messages
    // (never a password).
    const QString& description() const { return m_description; }

    Result<int> schemaVersion();
    QStringList tables() const { return m_connection.tables(); }
    // Forward only: applies each missing step in order, each in its own transaction.
    Result<void> migrateTo(int version);

    // SQLite `PRAGMA integrity_check`: an empty list when the file is sound, otherwise the
    // problems SQLite reports. PostgreSQL checks itself; the list is always empty there.
    Result<QStringList> integrityCheck();

    // Begins a transaction, or joins the one in progress (see Transaction).
    Result<Transaction> begin();
    bool inTransaction() const { return m_transactionDepth > 0; }

    // Holds a lock on `name` until the transaction ends, queueing every other connection that
    // asks for the same name (PostgreSQL); a no-op on SQLite, whose write transaction already
    // excludes every other writer. Only inside a transaction.
    Result<void> lockName(const QString& name);

    // Prepares and runs `sql` with positional `?` values. The query is forward-only and
    // positioned before the first row.
    Result<QSqlQuery> exec(const QString& sql, const QVariantList& values = {});

    // Runs a statement whose rows, if any, nobody reads (INSERT, UPDATE, COMMIT). On SQLite the
    // prepared statement is kept for the next run of the same text: parsing cost the writer
    // thread more than executing. Nothing is handed out, so a kept statement is never in use.
    Result<void> run(const QString& sql, const QVariantList& values = {});
    // run() for an UPDATE or DELETE, answering how many rows it changed.
    Result<int> runCounting(const QString& sql, const QVariantList& values = {});

    // The first row of a query, copied out, or nothing; the statement is reset (a SQLite read
    // left open would pin a WAL snapshot) and kept like run()'s.
    Result<std::optional<QSqlRecord>> one(const QString& sql, const QVariantList& values = {});

    // A driver error as a Keyline error: Io, or EnvironmentNotReady when the file or server
    // needs a person (corrupt, read-only, full disk, connection lost).
    Error errorFrom(const QString& what, const QSqlError& error) const;

private:
    Error sqliteError(const QString& what, const QSqlError& error) const;
    Error transientConflict(const QString& what, const QString& text) const;
    friend class Transaction;
    Database(QSqlDatabase connection, QString description);

    Result<void> configureConnection(const DatabaseOptions& options);
    // A kept prepared statement for `sql` with `values` bound and executed (SQLite), or a
    // fresh exec().
    Result<QSqlQuery*> runKept(const QString& sql, const QVariantList& values);
    void bindAll(QSqlQuery& query, const QVariantList& values) const;
    Result<void> endTransaction(bool commit);
    void leaveJoinedTransaction(bool committed);

    QString m_connectionName;
    QSqlDatabase m_connection;
    SqlDialect m_dialect;
    QString m_description;
    int m_transactionDepth = 0;
    bool m_rollbackOnly = false;
    // By statement text; bounded, as only the engine's fixed statements come here often.
    std::unordered_map<QString, std::unique_ptr<QSqlQuery>> m_kept;
    QSqlQuery m_uncached; // runKept()'s answer where nothing is kept (PostgreSQL, cache full)
};

} // namespace keyline::db
