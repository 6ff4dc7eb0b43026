#include "db/audit_log.h"
#include "db/device_repository.h"
#include "db/operator_repository.h"
#include "db/order_repository.h"
#include "db/schema_migrator.h"
#include "db_fixture.h"

#include <QFile>
#include <QSqlQuery>

using namespace keyline;
using namespace keyline::db;
using keyline::test::sampleOrder;
using keyline::test::TempDatabase;

namespace {

QString pragma(Database& db, const char* name) {
    auto q = db.exec(QStringLiteral("PRAGMA %1").arg(QLatin1String(name)));
    REQUIRE(q.ok());
    REQUIRE(q->next());
    return q->value(0).toString();
}

Result<std::unique_ptr<Database>> openAt(const QString& path) {
    DatabaseOptions options;
    options.name = path;
    return Database::open(options);
}

} // namespace

// [sqlite]: about the SQLite file itself; the PostgreSQL run leaves these out.
TEST_CASE("a new SQLite file is created with WAL full sync and foreign keys", "[sqlite]") {
    TempDatabase t;
    CHECK(QFile::exists(t.path));
    CHECK(pragma(*t.db, "journal_mode") == QStringLiteral("wal"));
    CHECK(pragma(*t.db, "synchronous") == QStringLiteral("2")); // FULL
    CHECK(pragma(*t.db, "foreign_keys") == QStringLiteral("1"));
}

TEST_CASE("a new database has the latest schema and is sound") {
    TempDatabase t;
    auto version = t.db->schemaVersion();
    REQUIRE(version.ok());
    CHECK(*version == latestSchemaVersion());
    CHECK(latestSchemaVersion() >= 2);
    auto problems = t.db->integrityCheck();
    REQUIRE(problems.ok());
    CHECK(problems->isEmpty());
}

TEST_CASE("foreign keys are enforced") {
    TempDatabase t;
    auto orphan = t.db->exec(
        QStringLiteral("INSERT INTO step_results (device_id, step, attempt, result, detail, "
                       "recorded_at) VALUES ('nope', 'identify', 1, 'pass', '', 'x')"));
    CHECK_FALSE(orphan.ok());
}

TEST_CASE("migrating from every earlier version keeps the data") {
    for (const SchemaStep& step : schemaSteps()) {
        if (step.version == latestSchemaVersion())
            continue;
        DYNAMIC_SECTION("from v" << step.version) {
            TempDatabase t(step.version);
            REQUIRE(*t.db->schemaVersion() == step.version);
            REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-1"))).ok());
            auto device = DeviceRepository(*t.db).ensureForChip(
                QStringLiteral("PO-1"), QStringLiteral("chip-1"), QStringLiteral("port-01"));
            REQUIRE(device.ok());
            for (const char* event : {"order.created", "device.allocated"})
                REQUIRE(AuditLog(*t.db, QStringLiteral("station-1"))
                            .append({QStringLiteral("sam"),
                                     QStringLiteral("PO-1"),
                                     QLatin1String(event),
                                     {}})
                            .ok());
            t.db.reset();

            t.db = t.open();
            CHECK(*t.db->schemaVersion() == latestSchemaVersion());
            auto order = OrderRepository(*t.db).find(QStringLiteral("PO-1"));
            REQUIRE(order.ok());
            CHECK(order->customerId == QStringLiteral("acme-42"));
            auto again = DeviceRepository(*t.db).find(device->id);
            REQUIRE(again.ok());
            CHECK(again->chipUid == QStringLiteral("chip-1"));
            // What the later steps added works on the upgraded database.
            CHECK(OperatorRepository(*t.db, PinHasher(PinHasher::kMinimumIterations))
                      .create(QStringLiteral("sam"), Role::Supervisor, QStringLiteral("4711"))
                      .ok());
            // The audit entries written before keep verifying, and the station's chain goes on
            // from them.
            AuditLog audit(*t.db, QStringLiteral("station-1"));
            auto next = audit.append({QStringLiteral("sam"),
                                      QStringLiteral("PO-1"),
                                      QStringLiteral("order.closed"),
                                      {}});
            REQUIRE(next.ok());
            CHECK(next->seq == 3);
            auto chain = audit.verifyChain();
            REQUIRE(chain.ok());
            INFO(chain->problem.toStdString());
            CHECK(chain->intact());
            CHECK(chain->entries == 3);
            auto versions = t.db->exec(QStringLiteral("SELECT COUNT(*) FROM schema_migrations"));
            REQUIRE(versions.ok());
            REQUIRE(versions->next());
            CHECK(versions->value(0).toInt() == latestSchemaVersion());
        }
    }
}

TEST_CASE("migrations only go forward") {
    TempDatabase t;
    auto back = t.db->migrateTo(1);
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().code() == ErrorCode::InvalidArgument);
    CHECK(t.db->migrateTo(latestSchemaVersion()).ok()); // already there: nothing to do
}

TEST_CASE("a database from a newer station is refused with what to do") {
    TempDatabase t;
    REQUIRE(t.db->exec(QStringLiteral("INSERT INTO schema_migrations VALUES (99, 'future', "
                                      "'2030-01-01T00:00:00.000Z')"))
                .ok());
    t.db.reset();
    auto reopened = t.tryOpen();
    REQUIRE_FALSE(reopened.ok());
    CHECK(reopened.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(reopened.error().toString().contains(QStringLiteral("update the station")));
}

TEST_CASE("a file that is not a database is refused and not overwritten", "[sqlite]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("keyline.db"));
    QFile file(path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    const QByteArray junk = QByteArray("this is not SQLite").repeated(300);
    file.write(junk);
    file.close();
    auto opened = openAt(path);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code() == ErrorCode::EnvironmentNotReady);
    QFile check(path);
    REQUIRE(check.open(QIODevice::ReadOnly));
    CHECK(check.readAll() == junk);
}

TEST_CASE("a database with someone else's tables is refused") {
    TempDatabase t(1);
    REQUIRE(t.db->exec(QStringLiteral("DROP TABLE schema_migrations")).ok());
    t.db.reset();
    auto reopened = t.tryOpen();
    REQUIRE_FALSE(reopened.ok());
    CHECK(reopened.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(reopened.error().toString().contains(QStringLiteral("no Keyline schema")));
}

TEST_CASE("an unsupported driver is bad usage") {
    DatabaseOptions options;
    options.driver = QStringLiteral("QODBC");
    options.name = QStringLiteral("x");
    auto opened = Database::open(options);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code() == ErrorCode::InvalidArgument);
}

TEST_CASE("integrity check reports a damaged file", "[sqlite]") {
    TempDatabase t;
    OrderRepository orders(*t.db);
    for (int i = 0; i < 200; ++i)
        REQUIRE(orders.create(sampleOrder(QStringLiteral("PO-%1").arg(i))).ok());
    REQUIRE(t.db->exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)")).ok());
    t.db.reset();
    QFile file(t.path);
    REQUIRE(file.open(QIODevice::ReadWrite));
    REQUIRE(file.size() > 4 * 4096);
    // Scribble over the middle of the orders table's pages, leaving the header intact.
    file.seek(2 * 4096 + 8);
    file.write(QByteArray(3 * 4096, '\x5a'));
    file.close();
    auto opened = openAt(t.path);
    if (!opened.ok()) {
        CHECK(opened.error().code() == ErrorCode::EnvironmentNotReady);
        return;
    }
    auto problems = (*opened)->integrityCheck();
    CHECK((!problems.ok() || !problems->isEmpty()));
}

TEST_CASE("a committed change is visible to a second connection") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-7"))).ok());
    auto second = t.tryOpen();
    REQUIRE(second.ok());
    CHECK(OrderRepository(**second).find(QStringLiteral("PO-7")).ok());
}

TEST_CASE("an abandoned transaction rolls back everything inside it") {
    TempDatabase t;
    OrderRepository orders(*t.db);
    {
        auto tx = t.db->begin();
        REQUIRE(tx.ok());
        REQUIRE(orders.create(sampleOrder(QStringLiteral("PO-1"))).ok()); // joins
        CHECK(t.db->inTransaction());
    }
    CHECK_FALSE(t.db->inTransaction());
    CHECK(orders.find(QStringLiteral("PO-1")).error().code() == ErrorCode::NotFound);
}

TEST_CASE("a failed step inside a transaction prevents its commit") {
    TempDatabase t;
    OrderRepository orders(*t.db);
    REQUIRE(orders.create(sampleOrder(QStringLiteral("PO-1"))).ok());
    auto tx = t.db->begin();
    REQUIRE(tx.ok());
    REQUIRE(orders.create(sampleOrder(QStringLiteral("PO-2"))).ok());
    // The caller ignores this failure...
    CHECK_FALSE(DeviceRepository(*t.db)
                    .ensureForChip(QStringLiteral("PO-9"), QStringLiteral("c"), QStringLiteral("p"))
                    .ok());
    // ...but the transaction does not: nothing is committed.
    auto committed = tx->commit();
    REQUIRE_FALSE(committed.ok());
    CHECK(committed.error().code() == ErrorCode::Internal);
    CHECK(orders.find(QStringLiteral("PO-2")).error().code() == ErrorCode::NotFound);
    CHECK(orders.find(QStringLiteral("PO-1")).ok());
}

TEST_CASE("a kept statement leaves no read open that would hide another station's writes") {
    TempDatabase t;
    auto other = t.open();
    const QString count = QStringLiteral("SELECT COUNT(*) FROM orders");
    auto before = t.db->one(count);
    REQUIRE(before.ok());
    REQUIRE(before->has_value());
    CHECK((*before)->value(0).toInt() == 0);

    REQUIRE(OrderRepository(*other).create(sampleOrder(QStringLiteral("PO-KEPT"))).ok());
    // Another statement of the first connection sees the new order only if the kept one was
    // reset: an open SQLite read pins the WAL snapshot it started on.
    auto after = t.db->exec(QStringLiteral("SELECT COUNT(*) FROM orders WHERE id <> ''"));
    REQUIRE(after.ok());
    REQUIRE(after->next());
    CHECK(after->value(0).toInt() == 1);
    auto again = t.db->one(count);
    REQUIRE(again.ok());
    CHECK((*again)->value(0).toInt() == 1);
}

TEST_CASE("a kept statement that failed runs again and no row means nothing") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-TWICE"))).ok());
    const QString insert =
        QStringLiteral("INSERT INTO device_public_keys (sha256, device_id, first_seen_at) "
                       "VALUES (?, ?, ?)");
    // No such device: the foreign key refuses, with the statement's error.
    auto refused = t.db->run(insert, {QString(64, QLatin1Char('a')), QStringLiteral("PO-NONE"),
                                      QStringLiteral("2026-01-01T00:00:00Z")});
    CHECK_FALSE(refused.ok());
    auto device = DeviceRepository(*t.db).ensureForChip(QStringLiteral("PO-TWICE"),
                                                        QStringLiteral("00aa"), QString());
    REQUIRE(device.ok());
    auto accepted = t.db->run(insert, {QString(64, QLatin1Char('a')), device->id,
                                       QStringLiteral("2026-01-01T00:00:00Z")});
    INFO((accepted.ok() ? QString() : accepted.error().toString()).toStdString());
    CHECK(accepted.ok());
    auto none = t.db->one(QStringLiteral("SELECT device_id FROM device_public_keys WHERE "
                                         "sha256 = ?"),
                          {QString(64, QLatin1Char('b'))});
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
}
