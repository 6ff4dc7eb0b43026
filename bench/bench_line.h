#pragma once

// One production run of the engine against virtual wearables, the way `keyline run` drives it:
// a development order, the station's HSM services, the engine's database writer with durable
// commits and one slot per port. Shared by the pipeline and line-scaling benchmarks.

#include "bench_station.h"
#include "db/database.h"
#include "db/order_repository.h"
#include "hsm/issuing_ca.h"
#include "provisioning/db_records.h"
#include "provisioning/production_run.h"
#include "provisioning/record_writer.h"

#include <QDir>
#include <QFileInfo>

namespace keyline::bench {

struct LineRun {
    provisioning::RunSummary summary;
    provisioning::RecordWriter::Stats writes;
    std::chrono::microseconds deviceWork{0}; // what the devices' Timing charged, all devices
    qsizetype packageBytes = 0;
};

// Provisions `devices` devices on `slots` ports (as many devices per port as it takes) with a
// package whose OS is `osBytes` long. The station's database lives in `workDir` (on disk, every
// commit durable); the devices' own flash lives on a tmpfs where there is one: it is the
// devices' storage, not the station's, and on a busy ext4 every new device directory costs
// inode allocation the station never pays.
inline LineRun runLine(BenchStation& station, const QString& workDir, sim::Timing timing,
                       int devices, int slots, qsizetype osBytes,
                       std::chrono::milliseconds replugDelay = std::chrono::milliseconds(1)) {
    const bool shm = QFileInfo(QStringLiteral("/dev/shm")).isWritable();
    QTemporaryDir deviceFlash(shm ? QStringLiteral("/dev/shm/kl-line-XXXXXX")
                                  : QDir(workDir).filePath(QStringLiteral("sim-XXXXXX")));
    QTemporaryDir stationDir(QDir(workDir).filePath(QStringLiteral("station-XXXXXX")));
    if (!deviceFlash.isValid() || !stationDir.isValid())
        die(QStringLiteral("cannot create the run's directories"));

    sim::SimOptions options;
    options.ports = slots;
    options.devicesPerPort = (devices + slots - 1) / slots;
    options.stateDir = deviceFlash.path();
    // The ports' sockets are the USB bus, not the station's storage: a re-plug binds a new
    // socket file, which on a busy ext4 costs an inode allocation no real port does.
    QTemporaryDir bus(shm ? QStringLiteral("/dev/shm/kl-bus-XXXXXX")
                          : QDir(workDir).filePath(QStringLiteral("bus-XXXXXX")));
    if (!bus.isValid())
        die(QStringLiteral("cannot create the ports' socket directory"));
    options.socketDir = bus.path();
    options.timing = timing;
    options.replugDelay = replugDelay;
    options.vendorKeystoreKeyPath = station.vendorKeyPem;
    // The devices' state survives a killed simulator, not a host power cut: their storage is
    // not the station's cost. The station's commits stay fully durable.
    options.stateDurability = sim::Durability::Process;
    // The chips arrive made, as from the silicon vendor: the virtual fab is not the line.
    options.premanufacture = true;
    sim::Simulator simulator(options);
    need(simulator.load(), "simulator");
    need(simulator.startServing(), "simulator");

    provisioning::OrderPlan plan;
    plan.orderId = QStringLiteral("BENCH");
    plan.customerId = QStringLiteral("bench");
    plan.quantity = devices;
    plan.keystore = station.keystore();
    plan.keystoreSha256 = flashing::sha256(plan.keystore);
    plan.package = flashing::FlashImage::of(station.package(QByteArray(osBytes, 'o')));
    plan.expected = need(provisioning::expectedBootOf(plan.package), "package");
    plan.certificateProfile = {QStringLiteral("bench"), QStringLiteral("dev"), 3650};
    db::DatabaseOptions dbOptions;
    dbOptions.name = stationDir.filePath(QStringLiteral("keyline.db"));
    {
        auto database = need(db::Database::open(dbOptions), "database");
        db::NewOrder order;
        order.id = plan.orderId;
        order.customerId = plan.customerId;
        order.quantity = devices;
        order.packagePath = stationDir.filePath(QStringLiteral("package.klpk"));
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
    LineRun result;
    result.summary = need(production.run(), "run");
    simulator.stop();
    result.writes = writer->stats();
    result.deviceWork = simulator.deviceWorkTime();
    result.packageBytes = plan.package.bytes.size();
    return result;
}

} // namespace keyline::bench
