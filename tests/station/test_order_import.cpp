// `keyline order import`: the order file a factory's ERP hands the station (docs/order-file.md).
// Every order gets the checks of `order create`; one bad order and none is created; the bounds
// (size, count, quantity) hold before anything is read whole.
#include "db/audit_log.h"
#include "line_fixture.h"
#include "station/order_file.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::LineFixture;

namespace {

// The order file of the ERP: one JSON object per order, written as the ERP would (relative
// paths, resolved against the file's folder).
QByteArray orderFile(const QList<QJsonObject>& orders) {
    QJsonArray list;
    for (const QJsonObject& o : orders)
        list.append(o);
    return QJsonDocument(QJsonObject{{QStringLiteral("format"), QStringLiteral("keyline-order/1")},
                                     {QStringLiteral("orders"), list}})
        .toJson();
}

QJsonObject order(const QString& id, const QString& customer, const QString& env, int quantity,
                  const QString& package, const QString& keystore) {
    return {{QStringLiteral("id"), id},           {QStringLiteral("customer"), customer},
            {QStringLiteral("env"), env},         {QStringLiteral("quantity"), quantity},
            {QStringLiteral("package"), package}, {QStringLiteral("keystore"), keystore}};
}

struct ImportFixture : LineFixture {
    ImportFixture() {
        devKeystore(QStringLiteral("acme"));
        devPackage(path(QStringLiteral("acme-dev.ks")), QStringLiteral("acme.klpk"));
        devKeystore(QStringLiteral("globex"));
        devPackage(path(QStringLiteral("globex-dev.ks")), QStringLiteral("globex.klpk"));
    }
    QJsonObject acme(const QString& id, int quantity = 24) const {
        return order(id, QStringLiteral("acme"), QStringLiteral("dev"), quantity,
                     QStringLiteral("acme.klpk"), QStringLiteral("acme-dev.ks"));
    }
    CliRun import(const QByteArray& file, const QStringList& extra = {}) const {
        const QString p = writeFile(QStringLiteral("orders.json"), file);
        return run(QStringList{QStringLiteral("order"), QStringLiteral("import"), p} + extra);
    }
    QStringList orderIds() const {
        const CliRun list =
            expect({QStringLiteral("order"), QStringLiteral("list"), QStringLiteral("--json")}, 0);
        QStringList ids;
        for (const QJsonValue& o : QJsonDocument::fromJson(list.out.toUtf8())
                                       .object()
                                       .value(QStringLiteral("orders"))
                                       .toArray())
            ids << o.toObject().value(QStringLiteral("id")).toString();
        return ids;
    }
    // Nothing of a refused import is left: no order, no pinned folder.
    void nothingCreated() const {
        CHECK(orderIds().isEmpty());
        const QDir orders(QDir(dataDir()).filePath(QStringLiteral("orders")));
        CHECK(orders.entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    }
};

qint64 peakRssKiB() {
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    return -1;
}

} // namespace

TEST_CASE("an order file is imported: each order created and audited with its operator",
          "[station][order][import]") {
    ImportFixture f;
    const QByteArray file = orderFile(
        {f.acme(QStringLiteral("PO-1001")),
         order(QStringLiteral("PO-1002"), QStringLiteral("globex"), QStringLiteral("dev"), 99999,
               f.path(QStringLiteral("globex.klpk")), QStringLiteral("./globex-dev.ks"))});
    const CliRun r = f.import(file);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("2 orders imported from")));
    CHECK(f.orderIds() == QStringList({QStringLiteral("PO-1001"), QStringLiteral("PO-1002")}));
    const CliRun show =
        f.expect({QStringLiteral("order"), QStringLiteral("show"), QStringLiteral("PO-1002")}, 0);
    CHECK(show.out.contains(QStringLiteral("quantity 99999")));
    CHECK(QFile::exists(QDir(f.dataDir()).filePath(QStringLiteral("orders/PO-1001/package.klpk"))));

    // The same order.created entry as `order create`, by the same operator, with the file's hash.
    auto db = f.openDatabase();
    QStringList events;
    auto walked = db::AuditLog(*db, QString()).forEach({}, [&](const db::AuditEntry& e) {
        if (e.event == QLatin1String("order.created")) {
            events << e.orderId + QLatin1Char('/') + e.operatorName;
            const QJsonObject d = QJsonDocument::fromJson(e.details.toUtf8()).object();
            CHECK(d.value(QStringLiteral("orderFileSha256")).toString().size() == 64);
            CHECK(d.value(QStringLiteral("packageSha256")).toString().size() == 64);
        }
        return success();
    });
    REQUIRE(walked.ok());
    CHECK(events == QStringList({QStringLiteral("PO-1001/line-service"),
                                 QStringLiteral("PO-1002/line-service")}));
    // Importing the same file again: the orders exist, nothing more is created.
    const CliRun again = f.import(file);
    CHECK(again.code == 1);
    CHECK(again.err.contains(QStringLiteral("order 1 (PO-1001)")));
    CHECK(again.err.contains(QStringLiteral("exists already")));
}

TEST_CASE("order import --dry-run checks every order and creates none",
          "[station][order][import]") {
    ImportFixture f;
    const CliRun r =
        f.import(orderFile({f.acme(QStringLiteral("PO-1")), f.acme(QStringLiteral("PO-2"), 3)}),
                 {QStringLiteral("--dry-run")});
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("order PO-2 checked: customer acme, dev, 3 devices")));
    CHECK(r.out.contains(QStringLiteral("2 orders would be created; nothing was created")));
    f.nothingCreated();
    // A dry run refuses what the import would refuse.
    const CliRun bad = f.import(
        orderFile({f.acme(QStringLiteral("PO-1")),
                   order(QStringLiteral("PO-2"), QStringLiteral("acme"), QStringLiteral("prod"), 3,
                         QStringLiteral("acme.klpk"), QStringLiteral("acme-dev.ks"))}),
        {QStringLiteral("--dry-run")});
    CHECK(bad.code == 1);
    CHECK(bad.err.contains(QStringLiteral("order 2 (PO-2)")));
}

TEST_CASE("a bad order file is refused whole with the order and field named",
          "[station][order][import]") {
    ImportFixture f;
    const QJsonObject good = f.acme(QStringLiteral("PO-1"));
    auto with = [&](const QString& field, const QJsonValue& value) {
        QJsonObject o = f.acme(QStringLiteral("PO-2"));
        if (value.isUndefined())
            o.remove(field);
        else
            o.insert(field, value);
        return orderFile({good, o});
    };
    const struct {
        const char* name;
        QByteArray file;
        int code;
        const char* reason;
    } cases[] = {
        {"not JSON", "PO-1;acme;dev;24\n", 2, "order file: not JSON"},
        {"wrong format tag", R"({"format": "keyline-order/2", "orders": []})", 2,
         "\"format\" must be \"keyline-order/1\", not 'keyline-order/2'"},
        {"no orders", R"({"format": "keyline-order/1", "orders": []})", 2,
         "holds 0 orders; a file holds 1 to 1000"},
        {"unknown top-level field", R"({"format": "keyline-order/1", "orders": [], "priority": 1})",
         2, "\"priority\" is not a field of an order file"},
        {"missing field", with(QStringLiteral("keystore"), QJsonValue::Undefined), 2,
         "order 2 (PO-2): \"keystore\" is missing"},
        {"wrong type", with(QStringLiteral("quantity"), QStringLiteral("24")), 2,
         "order 2 (PO-2): \"quantity\" must be a number"},
        {"negative quantity", with(QStringLiteral("quantity"), -5), 2,
         "\"quantity\" must be a whole number from 1 to 99999, not -5"},
        {"zero quantity", with(QStringLiteral("quantity"), 0), 2, "not 0"},
        {"huge quantity", with(QStringLiteral("quantity"), 1e12), 2, "not 1000000000000"},
        {"fractional quantity", with(QStringLiteral("quantity"), 2.5), 2, "not 2.5"},
        {"bad env", with(QStringLiteral("env"), QStringLiteral("staging")), 2,
         "\"env\" must be \"dev\" or \"prod\", not 'staging'"},
        {"bad id", with(QStringLiteral("id"), QStringLiteral("PO 2!")), 2,
         "order 2: \"id\" must be 1-32 of"},
        {"duplicate id", orderFile({good, f.acme(QStringLiteral("PO-1"), 5)}), 2,
         "order 2 (PO-1): \"id\" repeats order 1's id"},
        {"unknown field", with(QStringLiteral("priority"), QStringLiteral("high")), 2,
         "order 2 (PO-2): \"priority\" is not a field of an order"},
        {"missing package file", with(QStringLiteral("package"), QStringLiteral("nope.klpk")), 2,
         "order 2 (PO-2) of"},
        {"package of another customer",
         with(QStringLiteral("package"), QStringLiteral("globex.klpk")), 1,
         "the package is customer 'globex''s, the order is for 'acme'"},
        {"prod order with dev keystore", with(QStringLiteral("env"), QStringLiteral("prod")), 1,
         "the keystore is a dev keystore, the order is prod"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            const CliRun r = f.import(c.file);
            INFO(r.all().toStdString());
            CHECK(r.code == c.code);
            CHECK(r.err.contains(QLatin1String(c.reason)));
            CHECK(r.err.count(QLatin1Char('\n')) == 1); // one line
            if (c.code == 1)
                CHECK(r.err.contains(QStringLiteral("order 2 (PO-2)")));
            // Order 1 was good and checked first: it is not created either.
            f.nothingCreated();
        }
    }
}

TEST_CASE("too many orders in a file are refused", "[station][order][import]") {
    ImportFixture f;
    QList<QJsonObject> orders;
    for (int i = 0; i <= station::kMaxOrdersPerFile; ++i)
        orders << f.acme(QStringLiteral("PO-%1").arg(i));
    const CliRun r = f.import(orderFile(orders));
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("holds 1001 orders; a file holds 1 to 1000")));
    f.nothingCreated();
}

TEST_CASE("a huge order file is refused before it is read", "[station][order][import][bounds]") {
    ImportFixture f;
    SECTION("just over the limit") {
        QByteArray file = orderFile({f.acme(QStringLiteral("PO-1"))});
        file.append(QByteArray(station::kMaxOrderFileBytes + 1 - file.size(), ' '));
        const CliRun r = f.import(file);
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("is 1048577 bytes, more than the 1048576")));
        // One byte less is a good file.
        file.chop(1);
        CHECK(f.import(file).code == 0);
    }
    SECTION("200 MiB, sparse: quick and without reading it") {
        const QString p = f.path(QStringLiteral("huge.json"));
        QFile huge(p);
        REQUIRE(huge.open(QIODevice::WriteOnly));
        REQUIRE(huge.resize(200LL * 1024 * 1024));
        huge.close();
        // The peak resident size from here on: reading the file would add 200 MiB.
        QFile clear(QStringLiteral("/proc/self/clear_refs"));
        if (clear.open(QIODevice::WriteOnly))
            clear.write("5"); // resets VmHWM where the kernel allows it
        const qint64 before = peakRssKiB();
        QElapsedTimer timer;
        timer.start();
        const CliRun r = f.run({QStringLiteral("order"), QStringLiteral("import"), p});
        CHECK(timer.elapsed() < 2000);
        INFO(r.all().toStdString());
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("is 209715200 bytes, more than the 1048576")));
        CHECK(peakRssKiB() - before < 64 * 1024);
        f.nothingCreated();
    }
}
