#pragma once

// Everything that differs between the SQL databases Keyline runs on, in one place: SQLite (the
// default, one file per station) and PostgreSQL 15 (a line of stations sharing one server).
// The schema and the repositories write portable SQL and ask the dialect for the rest.

#include <QSqlError>
#include <QString>

namespace keyline::db {

class SqlDialect {
public:
    enum class Kind { Sqlite, Postgres };

    // From a Qt driver name: "QSQLITE" or "QPSQL"; anything else is not supported.
    static bool supports(const QString& driverName);
    explicit SqlDialect(const QString& driverName);

    Kind kind() const { return m_kind; }
    bool isSqlite() const { return m_kind == Kind::Sqlite; }

    // Replaces the schema placeholders: {{ID}} (an auto-assigned 64-bit primary key) and {{BLOB}}
    // (binary data). Everything else in the schema is plain SQL both databases accept.
    QString schemaSql(QString sql) const;

    // SQLite's plain BEGIN takes the write lock only at the first write, so two writers can
    // deadlock into SQLITE_BUSY; IMMEDIATE takes it up front. PostgreSQL has row locks instead.
    QString beginTransactionSql() const;

    // A UNIQUE or PRIMARY KEY constraint refused the row. Repositories check their rules before
    // writing; this tells a rule the database caught (a bug or a second writer) from an I/O error.
    bool isUniqueViolation(const QSqlError& error) const;

    // Appended to a SELECT of an order row that the transaction goes on to count against or
    // allocate in. PostgreSQL: every station allocating IDs or issuing certificates for the
    // order queues on the row, so MAX(seq) and COUNT(*) after it see every committed
    // allocation (READ COMMITTED takes a new snapshot per statement). NO KEY UPDATE, because
    // the foreign-key checks of inserts that reference the order take KEY SHARE and must not
    // wait on it. SQLite: empty, BEGIN IMMEDIATE already holds the only write lock.
    QString rowLockSuffix() const;

    // A statement taking a lock on a name (one bound text value) until the transaction ends,
    // for what has no row to lock (the head of a station's audit chain); empty when the
    // transaction's write lock already serialises every writer (SQLite).
    QString namedLockSql() const;

    // The transaction lost a race the database could not queue (PostgreSQL serialization
    // failure or deadlock): running it again is correct.
    bool isTransientConflict(const QSqlError& error) const;

private:
    Kind m_kind;
};

} // namespace keyline::db
