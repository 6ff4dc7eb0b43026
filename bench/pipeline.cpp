// Full-pipeline devices per second: `keyline run`'s engine against virtual wearables with
// --timing none (the devices take no time of their own), a small package and durable commits
// (SQLite WAL, synchronous=FULL), every step of DESIGN.md §1 on every device. The figure is a
// ratio to what the station cannot avoid per device, measured in the same run: one raw HSM
// signature followed by one durable commit, in one thread. Goal: >= 300 devices/s on the
// 2-core machine.
//
// Usage: bench_pipeline [devices=320] [slots=16]
// Links: the engine (keyline::provisioning), the station's HSM sealer, the simulator.

#include "bench_station.h"
#include "db/database.h"
#include "db/order_repository.h"
#include "hsm/issuing_ca.h"
#include "hsm/pool_signer.h"
#include "provisioning/db_records.h"
#include "provisioning/production_run.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSqlQuery>
#include <cstdio>

using namespace keyline;
using namespace keyline::bench;

namespace {

// The baseline: sign a digest in the HSM, then commit a row durably, `n` times in one thread.
double rawSignAndCommit(hsm::Pkcs11Hsm& hsm, const QString& path, int n) {
    db::DatabaseOptions o;
    o.name = path;
    auto database = need(db::Database::open(o), "baseline database");
    need(database->exec(QStringLiteral("CREATE TABLE raw (id INTEGER PRIMARY KEY, sig BLOB)")),
         "baseline table");
    auto signer = std::dynamic_pointer_cast<hsm::PoolSigner>(
        need(hsm.signer(hsm.uriFor(hsm::labels::issuingCa)), "CA key"));
    const QByteArray digest(32, '\x42');
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < n; ++i) {
        const QByteArray sig = need(signer->signDigestRaw(digest), "raw sign");
        auto tx = need(database->begin(), "begin");
        need(database->exec(QStringLiteral("INSERT INTO raw (sig) VALUES (?)"), {sig}), "insert");
        need(tx.commit(), "commit");
    }
    return n / (double(t.nsecsElapsed()) / 1e9);
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const int devices = argc > 1 ? std::atoi(argv[1]) : 320;
    const int slots = argc > 2 ? std::atoi(argv[2]) : 16;
    BenchStation station;
    QTemporaryDir work(QStringLiteral("/tmp/kl-pipe-XXXXXX"));

    sim::SimOptions options;
    options.ports = slots;
    options.devicesPerPort = (devices + slots - 1) / slots;
    options.stateDir = work.filePath(QStringLiteral("sim"));
    options.socketDir = work.filePath(QStringLiteral("sock"));
    options.timing = sim::Timing::none();
    options.replugDelay = std::chrono::milliseconds(1);
    options.vendorKeystoreKeyPath = station.vendorKeyPem;
    // The devices' own storage is not the station's cost: their state survives a killed
    // simulator, not a host power cut. The station's commits stay fully durable.
    options.stateDurability = sim::Durability::Process;
    sim::Simulator simulator(options);
    need(simulator.load(), "simulator");
    need(simulator.startServing(), "simulator");

    // The order: a development keystore and a package with a small OS.
    provisioning::OrderPlan plan;
    plan.orderId = QStringLiteral("BENCH");
    plan.customerId = QStringLiteral("bench");
    plan.quantity = devices;
    plan.keystore = station.keystore();
    plan.keystoreSha256 = flashing::sha256(plan.keystore);
    plan.package = flashing::FlashImage::of(station.package(QByteArray(64 * 1024, 'o')));
    plan.expected = need(provisioning::expectedBootOf(plan.package), "package");
    plan.certificateProfile = {QStringLiteral("bench"), QStringLiteral("dev"), 3650};
    db::DatabaseOptions dbOptions;
    dbOptions.name = work.filePath(QStringLiteral("keyline.db"));
    {
        auto database = need(db::Database::open(dbOptions), "database");
        db::NewOrder order;
        order.id = plan.orderId;
        order.customerId = plan.customerId;
        order.quantity = devices;
        order.packagePath = work.filePath(QStringLiteral("package.klpk"));
        order.packageSha256 = QString::fromLatin1(plan.package.sha256.toHex());
        order.keystoreSha256 = QString::fromLatin1(plan.keystoreSha256.toHex());
        order.createdBy = QStringLiteral("bench");
        need(db::OrderRepository(*database).create(order), "order");
    }

    const auto chips = need(
        provisioning::ChipAuthenticator::fromRootFile(simulator.vendorRootPath()), "vendor root");
    auto caCert = need(station.hsm->certificate(
                           station.hsm->uriFor(hsm::labels::issuingCa, QStringLiteral("cert"))),
                       "CA certificate");
    auto ca =
        need(hsm::IssuingCa::create(
                 need(station.hsm->signer(station.hsm->uriFor(hsm::labels::issuingCa)), "CA key"),
                 caCert),
             "issuing CA");
    const QByteArray kcv = need(station.hsm->keyCheckValue(station.imageKey()), "KCV");
    const provisioning::StationServices services{chips, *station.hsm, *ca, station.imageKey(), kcv};
    auto writer = need(provisioning::RecordWriter::start(dbOptions), "writer");
    provisioning::DbRecords records(
        *writer, {plan.orderId, QStringLiteral("bench-station"), QStringLiteral("bench")});
    flashing::SocketPortProvider ports(options.socketDir);
    provisioning::RunOptions run;
    run.slots = slots;
    run.count = devices;
    run.idleTimeout = Millis(10000); // a lost device ends the run instead of hanging it
    provisioning::ProductionRun production(plan, services, records, {&ports}, run, {});
    const auto summary = need(production.run(), "run");
    simulator.stop();
    const double seconds = double(summary.milliseconds) / 1000.0;
    const double rate = summary.passed / seconds;

    const double baseline =
        rawSignAndCommit(*station.hsm, work.filePath(QStringLiteral("raw.db")), 200);
    std::printf("full pipeline, %d devices, %d slots, --timing none, %d KiB package, durable "
                "commits\n",
                devices, slots, int(plan.package.bytes.size() / 1024));
    const auto writes = writer->stats();
    std::printf("  passed %d, failed %d in %.2f s; %llu database writes in %llu commits\n",
                summary.passed, summary.failed, seconds,
                static_cast<unsigned long long>(writes.writes),
                static_cast<unsigned long long>(writes.commits));
    std::printf("  %-46s %9.1f /s\n", "keyline: devices provisioned", rate);
    std::printf("  %-46s %9.1f /s\n", "baseline: raw HSM sign + durable commit", baseline);
    std::printf("  %-46s %9.2f\n", "ratio keyline / baseline", rate / baseline);
    std::printf("  goal >= 300 devices/s: %s\n", rate >= 300 ? "MET" : "NOT MET");
    return summary.failed == 0 ? 0 : 1;
}
