#pragma once

// A fresh SQLite database in a temporary folder, and sample rows the tests share.

#include "db/database.h"
#include "db/order_repository.h"

#include <QTemporaryDir>
#include <catch2/catch.hpp>

namespace keyline::test {

struct TempDatabase {
    explicit TempDatabase(int schemaVersion = -1) {
        REQUIRE(dir.isValid());
        path = dir.filePath(QStringLiteral("station/keyline.db"));
        db = open(schemaVersion);
    }

    std::unique_ptr<db::Database> open(int schemaVersion = -1) const {
        db::DatabaseOptions options;
        options.name = path;
        options.targetSchemaVersion = schemaVersion;
        auto opened = db::Database::open(options);
        if (!opened.ok())
            FAIL(opened.error().toString().toStdString());
        return std::move(opened).value();
    }

    QTemporaryDir dir;
    QString path;
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
