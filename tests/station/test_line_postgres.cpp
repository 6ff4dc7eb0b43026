// A line of stations on one PostgreSQL server: four `keyline run` processes with two slots each,
// each with its own virtual wearable, on ONE order that has fewer units than the devices
// offered, so the stations race for its quota. Whatever the interleaving: no device ID twice, no
// certificate serial or device key twice, never more certificates than the quantity, and every
// station's audit chain verifies, in the database and as a signed export.
#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/device_repository.h"
#include "line_fixture.h"
#include "pg_test_server.h"
#include "run_process.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QSet>
#include <memory>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::LineFixture;
using keyline::test::PgTestServer;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

namespace {

constexpr int kStations = 4;
constexpr int kSlots = 2;
constexpr int kDevicesPerPort = 2; // 4 devices per station, 16 offered
constexpr int kQuantity = 10;

struct Station {
    QString name;
    QString config;
    std::unique_ptr<SimProcess> sim;
    std::unique_ptr<RunProcess> run;
};

// All four read in turn, so none stalls on a full output pipe while holding a lock.
void waitForAll(std::vector<Station>& stations) {
    QElapsedTimer timer;
    timer.start();
    int running = int(stations.size());
    while (running > 0) {
        REQUIRE(timer.elapsed() < 240000);
        running = 0;
        for (Station& s : stations)
            if (!s.run->pump(20).has_value())
                ++running;
    }
}

void checkChainExport(const LineFixture& f, const QString& config, const QString& station) {
    const QString out = f.path(QStringLiteral("audit-") + station + QStringLiteral(".jsonl"));
    const CliRun exported =
        keyline::test::runKeyline(config, {QStringLiteral("audit"), QStringLiteral("export"),
                                           QStringLiteral("--all"), QStringLiteral("-o"), out});
    INFO(station.toStdString() << ": " << exported.all().toStdString());
    REQUIRE(exported.code == 0);
    const CliRun verified = keyline::test::runKeyline(
        config, {QStringLiteral("audit"), QStringLiteral("verify"), out, QStringLiteral("--ca"),
                 f.exportFile(QStringLiteral("device-root-ca.pem"))});
    INFO(verified.all().toStdString());
    CHECK(verified.code == 0);
    CHECK(verified.out.startsWith(QStringLiteral("PASS")));
}

} // namespace

TEST_CASE("four stations on one PostgreSQL order share its quota without duplicates",
          "[station][run][postgres]") {
    const db::DatabaseOptions shared = PgTestServer::instance().createDatabase();
    LineFixture f(PgTestServer::urlFor(shared));
    keyline::test::makeOrder(f, QStringLiteral("PO-LINE"), kQuantity);

    std::vector<Station> stations(kStations);
    for (int i = 0; i < kStations; ++i) {
        Station& s = stations[std::size_t(i)];
        s.name = QStringLiteral("station-%1").arg(i + 1);
        const QString sockets = f.newSocketDir(QStringLiteral("-") + s.name);
        s.sim = std::make_unique<SimProcess>(f, kSlots, kDevicesPerPort, QStringList{},
                                             QStringLiteral("sim-") + s.name, sockets);
        s.config = f.stationConfig(
            s.name + QStringLiteral(".conf"), s.name, sockets,
            QDir(s.sim->stateDir).filePath(QStringLiteral("silicon-vendor-root.pem")));
    }
    // The idle timeout only ends a station whose simulator never showed a device; a short one
    // made a station that started slowly under a loaded CI machine give up before its first
    // device, leaving the order short. A station stops as soon as the order is complete anyway.
    for (Station& s : stations)
        s.run = std::make_unique<RunProcess>(s.config, QStringLiteral("PO-LINE"), kSlots, 30);
    waitForAll(stations);
    int passed = 0;
    std::string reports; // every station's report, so a short order shows who stopped and why
    for (Station& s : stations) {
        const QJsonObject report = s.run->report();
        const std::string text = s.name.toStdString() + ": " +
                                 QJsonDocument(report).toJson().toStdString() +
                                 s.run->process.readAllStandardError().toStdString();
        reports += text;
        INFO(text);
        REQUIRE(s.run->process.exitStatus() == QProcess::NormalExit);
        CHECK(report.value(QStringLiteral("failed")).toInt() == 0);
        passed += report.value(QStringLiteral("passed")).toInt();
    }
    INFO(reports);
    CHECK(passed == kQuantity);

    auto db = f.openDatabase();
    auto devices = db::DeviceRepository(*db).listForOrder(QStringLiteral("PO-LINE"));
    REQUIRE(devices.ok());
    QSet<QString> ids;
    QSet<int> seqs;
    int provisioned = 0;
    for (const db::Device& d : *devices) {
        ids.insert(d.id);
        seqs.insert(d.seq);
        if (d.state == db::DeviceState::Provisioned)
            ++provisioned;
    }
    CHECK(ids.size() == int(devices->size()));
    CHECK(seqs.size() == int(devices->size()));
    CHECK(provisioned == kQuantity);

    auto certificates = db::CertificateLedger(*db).listForOrder(QStringLiteral("PO-LINE"));
    REQUIRE(certificates.ok());
    CHECK(int(certificates->size()) <= kQuantity);
    CHECK(int(certificates->size()) == kQuantity);
    QSet<QString> serials, keys, certified;
    for (const db::IssuedCertificate& c : *certificates) {
        serials.insert(c.serial);
        keys.insert(c.publicKeySha256);
        certified.insert(c.deviceId);
    }
    CHECK(serials.size() == int(certificates->size()));
    CHECK(keys.size() == int(certificates->size()));
    CHECK(certified.size() == int(certificates->size()));

    auto chains = db::AuditLog(*db, QStringLiteral("test-line")).verifyChain();
    REQUIRE(chains.ok());
    INFO(chains->problem.toStdString());
    CHECK(chains->intact());
    auto inLog = db::AuditLog::stations(*db, QStringLiteral("PO-LINE"));
    REQUIRE(inLog.ok());
    INFO(inLog->join(QLatin1Char(' ')).toStdString());
    CHECK(inLog->size() >= 2); // the quota was shared, not taken by one station
    db.reset();

    for (const Station& s : stations)
        checkChainExport(f, s.config, s.name);
    checkChainExport(f, f.config, QStringLiteral("test-line"));
}
