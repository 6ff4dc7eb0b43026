// [database] url: the one entry that points a station at a shared PostgreSQL database.
#include "db/database_url.h"

#include <catch2/catch.hpp>

using namespace keyline;
using keyline::db::databaseOptionsFromUrl;

TEST_CASE("a PostgreSQL URL gives host port user database and libpq options") {
    auto o = databaseOptionsFromUrl(QStringLiteral(
        "postgresql://station@db.line.local:6543/keyline?sslmode=verify-full&sslrootcert=/etc/"
        "keyline/db-ca.pem"));
    REQUIRE(o.ok());
    CHECK(o->driver == QStringLiteral("QPSQL"));
    CHECK(o->host == QStringLiteral("db.line.local"));
    CHECK(o->port == 6543);
    CHECK(o->user == QStringLiteral("station"));
    CHECK(o->name == QStringLiteral("keyline"));
    CHECK(o->password.isEmpty());
    CHECK(o->connectOptions ==
          QStringLiteral("sslmode=verify-full;sslrootcert=/etc/keyline/db-ca.pem"));

    auto plain = databaseOptionsFromUrl(QStringLiteral("postgres://db/keyline"));
    REQUIRE(plain.ok());
    CHECK(plain->port == 5432);
    CHECK(plain->user.isEmpty());
}

TEST_CASE("a database URL with a password or a wrong part is refused naming it") {
    const std::pair<const char*, const char*> bad[] = {
        {"postgresql://station:s3cret@db/keyline", "PGPASSFILE"},
        {"mysql://db/keyline", "scheme"},
        {"postgresql://db", "database name"},
        {"postgresql://db/keyline?password=x", "not a supported connection option"},
        {"postgresql://db/keyline?sslmode=require;host=evil", "without spaces"},
    };
    for (const auto& [url, why] : bad) {
        INFO(url);
        auto o = databaseOptionsFromUrl(QLatin1String(url));
        REQUIRE_FALSE(o.ok());
        CHECK(o.error().code() == ErrorCode::BadInput);
        CHECK(o.error().message().contains(QLatin1String(why)));
        // The refusal never repeats the password.
        CHECK_FALSE(o.error().toString().contains(QStringLiteral("s3cret")));
    }
}
