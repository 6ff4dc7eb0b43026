#pragma once

// What must hold on a line after any sequence of runs, kills and restarts, read from both
// sides: the station's database (devices, step results, certificate ledger, audit chain,
// SQLite integrity) and the virtual wearable's own state files (docs/wearable-sim.md), which
// record what the devices really received — so a station that forgot a burn cannot hide it.

#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/device_repository.h"
#include "db/step_result_repository.h"
#include "line_fixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <map>

namespace keyline::test {

// One virtual wearable as its devices/<uid>/device.json describes it.
struct SimDevice {
    QString chipUid; // lowercase hex, as the station records it
    QString directory;
    bool locked = false;
    bool counterfeit = false;
    QByteArray otpKey;                 // the burned image key; empty while blank
    QList<QByteArray> otpBurnRequests; // wrapped keys of every otp-burn that reached the unwrap
    QByteArray deviceKeyPem;           // the device's own private key
    QByteArray chipKeyPem;             // the chip identity private key
};

inline QList<SimDevice> simDevices(const QString& stateDir) {
    QList<SimDevice> devices;
    const QDir root(QDir(stateDir).filePath(QStringLiteral("devices")));
    for (const QString& uid : root.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        QFile file(root.filePath(uid + QStringLiteral("/device.json")));
        REQUIRE(file.open(QIODevice::ReadOnly));
        const QJsonObject o = QJsonDocument::fromJson(file.readAll()).object();
        SimDevice d;
        d.chipUid = o.value(QStringLiteral("chipUid")).toString();
        d.directory = root.filePath(uid);
        d.locked = o.value(QStringLiteral("locked")).toBool();
        d.counterfeit = o.value(QStringLiteral("counterfeit")).toBool();
        d.otpKey = QByteArray::fromBase64(o.value(QStringLiteral("otpKey")).toString().toLatin1());
        for (const QJsonValue& w : o.value(QStringLiteral("otpBurnRequests")).toArray())
            d.otpBurnRequests << QByteArray::fromBase64(w.toString().toLatin1());
        d.deviceKeyPem = o.value(QStringLiteral("deviceKeyPem")).toString().toLatin1();
        d.chipKeyPem = o.value(QStringLiteral("chipKeyPem")).toString().toLatin1();
        REQUIRE(d.chipUid == uid);
        devices << d;
    }
    return devices;
}

// An operator re-plugging a device after a crash: the simulator (stopped) gets `chipUid` back
// in `port` when it starts again. The simulator swaps a locked device out as soon as its link
// closes, and a station killed between the lock and its record closes that link: in a factory
// the operator puts such a device back, because the station never showed it as done.
inline void replugIntoPort(const QString& stateDir, int port, const QString& chipUid,
                           int devicesSeen) {
    QFile file(QDir(stateDir).filePath(QStringLiteral("ports.json")));
    REQUIRE(file.open(QIODevice::ReadOnly));
    QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
    file.close();
    QJsonObject ports = root.value(QStringLiteral("ports")).toObject();
    ports.insert(QString::number(port), QJsonObject{{QStringLiteral("device"), chipUid},
                                                    {QStringLiteral("devicesSeen"), devicesSeen}});
    root.insert(QStringLiteral("ports"), ports);
    REQUIRE(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(QJsonDocument(root).toJson());
}

// Never a second burn, from the devices' side: a station checks otp-status first, so no
// otp-burn ever reaches a burned OTP (not even one with the same key), and a device burned at
// manufacture with another key never receives one at all.
inline void checkNoSecondBurn(const QList<SimDevice>& devices) {
    for (const SimDevice& d : devices) {
        INFO("device " << d.chipUid.toStdString());
        CHECK(d.otpBurnRequests.size() <= 1);
    }
}

// "burned" otp-key records of one device.
inline int recordedBurns(db::Database& db, const QString& deviceId) {
    auto steps = db::StepResultRepository(db).forDevice(deviceId);
    REQUIRE(steps.ok());
    int burns = 0;
    for (const db::StepResult& s : *steps)
        if (s.step == QStringLiteral("otp-key") && s.outcome == db::StepOutcome::Pass &&
            s.detail.startsWith(QStringLiteral("burned")))
            ++burns;
    return burns;
}

// The audit chain verifies and SQLite's integrity check is clean.
inline void checkRecordsSound(const LineFixture& f) {
    auto db = f.openDatabase();
    auto chain = db::AuditLog(*db, QStringLiteral("test-line")).verifyChain();
    REQUIRE(chain.ok());
    INFO(chain->problem.toStdString());
    CHECK(chain->intact());
    auto integrity = db->integrityCheck();
    REQUIRE(integrity.ok());
    CHECK(integrity->isEmpty());
}

struct OrderOutcome {
    int scrapped = 0; // devices the order scrapped (an OTP burned with another key, ...)
    // Every burn was recorded (no kill cut a record off), so each device has exactly one.
    // Otherwise a burn whose record a kill cut off shows as "already held" on the next
    // attempt: there may be none recorded, never two.
    bool exactlyOneBurn = false;
};

// The station's records after an order is done: `quantity` devices provisioned, the expected
// number scrapped, every other one failed with its reason; never a second recorded burn, one
// certificate per provisioned device and no more than the order; audit chain and database
// intact.
inline void checkInvariants(const LineFixture& f, const QString& order, int quantity,
                            OrderOutcome expected = {}) {
    auto db = f.openDatabase();
    auto devices = db::DeviceRepository(*db).listForOrder(order);
    REQUIRE(devices.ok());
    int provisioned = 0, scrappedSeen = 0;
    QSet<QString> provisionedIds;
    for (const db::Device& d : *devices) {
        INFO(d.id.toStdString() << " " << db::deviceStateName(d.state).toStdString() << " "
                                << d.failureReason.toStdString());
        if (d.scrapped)
            ++scrappedSeen;
        if (d.state == db::DeviceState::Provisioned) {
            ++provisioned;
            provisionedIds.insert(d.id);
        } else {
            CHECK(d.state == db::DeviceState::Failed);
            CHECK_FALSE(d.failureReason.isEmpty());
        }
        const int burns = recordedBurns(*db, d.id);
        if (expected.exactlyOneBurn && !d.scrapped)
            CHECK(burns == 1);
        else
            CHECK(burns <= 1);
    }
    CHECK(provisioned == quantity);
    CHECK(scrappedSeen == expected.scrapped);
    auto certificates = db::CertificateLedger(*db).listForOrder(order);
    REQUIRE(certificates.ok());
    CHECK(int(certificates->size()) == quantity);
    QSet<QString> certified;
    for (const auto& c : *certificates)
        certified.insert(c.deviceId);
    CHECK(certified == provisionedIds); // one per provisioned device, none for another
    checkRecordsSound(f);
}

} // namespace keyline::test
