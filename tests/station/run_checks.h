#pragma once

// What must hold for an order after any sequence of runs, kills and faults once it is done
// (DESIGN.md §5): every device provisioned, none scrapped, OTP never burned twice, one
// certificate per device, the audit chain intact and the database sound.

#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/device_repository.h"
#include "db/step_result_repository.h"
#include "line_fixture.h"

#include <QSet>

namespace keyline::test {

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

// `exactlyOneBurn`: every burn was recorded (no kill cut a record off), so each device has
// exactly one; otherwise a burn whose record a kill cut off shows as "already held" on the
// next attempt, so there may be none recorded, never two.
inline void checkInvariants(const LineFixture& f, const QString& order, int quantity,
                            bool exactlyOneBurn = false) {
    auto db = f.openDatabase();
    auto devices = db::DeviceRepository(*db).listForOrder(order);
    REQUIRE(devices.ok());
    int provisioned = 0;
    for (const db::Device& d : *devices) {
        INFO(d.id.toStdString() << " " << db::deviceStateName(d.state).toStdString() << " "
                                << d.failureReason.toStdString());
        CHECK_FALSE(d.scrapped);
        if (d.state == db::DeviceState::Provisioned)
            ++provisioned;
        const int burns = recordedBurns(*db, d.id);
        if (exactlyOneBurn)
            CHECK(burns == 1);
        else
            CHECK(burns <= 1);
    }
    CHECK(provisioned == quantity);
    auto certificates = db::CertificateLedger(*db).listForOrder(order);
    REQUIRE(certificates.ok());
    CHECK(int(certificates->size()) == quantity);
    QSet<QString> certified;
    for (const auto& c : *certificates)
        certified.insert(c.deviceId);
    CHECK(certified.size() == quantity); // one per device
    checkRecordsSound(f);
}

} // namespace keyline::test
