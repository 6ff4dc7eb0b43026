// Several stations on one order at once, each with its own connection on its own thread: the
// order's device IDs, its certificate quota and every station's audit chain stay correct.
// With KEYLINE_TEST_DB=postgres this is the row-lock path; on SQLite the write lock queues.
#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/db_error.h"
#include "db/device_repository.h"
#include "db/key_fingerprint_registry.h"
#include "db_fixture.h"

#include <QCryptographicHash>
#include <QSet>
#include <mutex>
#include <thread>

using namespace keyline;
using namespace keyline::db;
using keyline::test::sampleOrder;
using keyline::test::TempDatabase;

namespace {

constexpr int kStations = 4;
constexpr int kChipsPerStation = 6;
constexpr int kQuantity = 7;

struct Tally {
    std::mutex lock;
    int issued = 0;
    int refusedFull = 0;
    QStringList errors; // Catch2 assertions are not thread-safe: threads report here
};

// One device as a station handles it: an ID, then certificate, key and audit entry in one
// transaction, as the engine records them.
Result<bool> provisionOne(Database& db, const QString& station, int n) {
    const QString chip = QStringLiteral("chip-%1-%2").arg(station).arg(n);
    KL_TRY_ASSIGN(const Device device, DeviceRepository(db).ensureForChip(
                                           QStringLiteral("PO-1"), chip, QStringLiteral("p")));
    KL_TRY_ASSIGN(Transaction tx, db.begin());
    IssuedCertificate c;
    c.serial = QString::fromLatin1(
        QCryptographicHash::hash(chip.toUtf8(), QCryptographicHash::Sha1).toHex());
    c.deviceId = device.id;
    c.orderId = device.orderId;
    c.publicKeySha256 = KeyFingerprintRegistry::fingerprint(chip.toUtf8());
    c.der = QByteArray("\x30\x03\x02\x01", 4) + chip.toUtf8();
    auto recorded = CertificateLedger(db).record(c);
    if (!recorded.ok()) {
        if (isRefusal(recorded.error(), DbRefusal::QuantityExceeded))
            return false;
        return std::move(recorded).error();
    }
    KL_TRY(KeyFingerprintRegistry(db).registerKey(c.publicKeySha256, device.id));
    KL_TRY(AuditLog(db, station)
               .append({QString(), QStringLiteral("PO-1"), QStringLiteral("certificate.issued"),
                        QJsonObject{{QStringLiteral("device"), device.id}}}));
    KL_TRY(tx.commit());
    return true;
}

void runStation(const TempDatabase& t, const QString& station, Tally& tally) {
    auto report = [&](const Error& e) {
        const std::lock_guard<std::mutex> guard(tally.lock);
        tally.errors << station + QStringLiteral(": ") + e.toString();
    };
    auto db = t.tryOpen();
    if (!db.ok())
        return report(db.error());
    for (int n = 0; n < kChipsPerStation; ++n) {
        auto done = provisionOne(**db, station, n);
        if (!done.ok())
            return report(done.error());
        const std::lock_guard<std::mutex> guard(tally.lock);
        ++(*done ? tally.issued : tally.refusedFull);
    }
}

} // namespace

TEST_CASE("stations on one order never share an ID or pass the quantity") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-1"), kQuantity)).ok());
    Tally tally;
    std::vector<std::thread> stations;
    for (int s = 0; s < kStations; ++s)
        stations.emplace_back(runStation, std::cref(t), QStringLiteral("station-%1").arg(s + 1),
                              std::ref(tally));
    for (std::thread& thread : stations)
        thread.join();
    INFO(tally.errors.join(QLatin1Char('\n')).toStdString());
    REQUIRE(tally.errors.isEmpty());
    CHECK(tally.issued == kQuantity);
    CHECK(tally.refusedFull == kStations * kChipsPerStation - kQuantity);

    auto devices = DeviceRepository(*t.db).listForOrder(QStringLiteral("PO-1"));
    REQUIRE(devices.ok());
    REQUIRE(int(devices->size()) == kStations * kChipsPerStation);
    QSet<int> seqs;
    for (const Device& d : *devices)
        seqs.insert(d.seq);
    for (int seq = 1; seq <= kStations * kChipsPerStation; ++seq)
        CHECK(seqs.contains(seq)); // each once: as many as devices, no gaps
    CHECK(*CertificateLedger(*t.db).countForOrder(QStringLiteral("PO-1")) == kQuantity);

    // Every station's chain verifies on its own; together they hold one entry per certificate.
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    auto chain = audit.verifyChain();
    REQUIRE(chain.ok());
    INFO(chain->problem.toStdString());
    CHECK(chain->intact());
    CHECK(chain->entries == kQuantity);
    auto stationsInLog = AuditLog::stations(*t.db, QStringLiteral("PO-1"));
    REQUIRE(stationsInLog.ok());
    CHECK(stationsInLog->size() <= kStations);
}
