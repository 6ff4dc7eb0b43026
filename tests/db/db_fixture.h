#pragma once

// A fresh database, and sample rows the tests share: SQLite in a temporary folder, or with
// KEYLINE_TEST_DB=postgres a new database on the test process's PostgreSQL server, so the same
// test cases run against both.

#include "db/database.h"
#include "db/order_repository.h"
#include "pg_test_server.h"

#include <QTemporaryDir>
#include <catch2/catch.hpp>

namespace keyline::test {

struct TempDatabase {
    explicit TempDatabase(int schemaVersion = -1) {
        REQUIRE(dir.isValid());
        if (testingPostgres()) {
            options = PgTestServer::instance().createDatabase();
        } else {
            path = dir.filePath(QStringLiteral("station/keyline.db"));
            options.name = path;
        }
        db = open(schemaVersion);
    }

    // Another connection to the same database, or the error opening it.
    Result<std::unique_ptr<db::Database>> tryOpen(int schemaVersion = -1) const {
        db::DatabaseOptions o = options;
        o.targetSchemaVersion = schemaVersion;
        return db::Database::open(o);
    }

    std::unique_ptr<db::Database> open(int schemaVersion = -1) const {
        auto opened = tryOpen(schemaVersion);
        if (!opened.ok())
            FAIL(opened.error().toString().toStdString());
        return std::move(opened).value();
    }

    QTemporaryDir dir;
    QString path; // SQLite only
    db::DatabaseOptions options;
    std::unique_ptr<db::Database> db;
};

inline db::NewOrder sampleOrder(const QString& id, int quantity = 3) {
    db::NewOrder o;
    o.id = id;
    o.customerId = QStringLiteral("acme-42");
    o.environment = db::Environment::Production;
    o.quantity = quantity;
    o.packagePath = QStringLiteral("/srv/packages/acme-1.2.kpkg");
    o.packageSha256 = QString(64, QLatin1Char('a'));
    o.keystoreSha256 = QString(64, QLatin1Char('b'));
    o.createdBy = QStringLiteral("sam");
    return o;
}

inline std::string text(const Error& e) {
    return e.toString().toStdString();
}

} // namespace keyline::test
