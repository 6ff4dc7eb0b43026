#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/db_error.h"
#include "db/device_repository.h"
#include "db/key_fingerprint_registry.h"
#include "db_fixture.h"

using namespace keyline;
using namespace keyline::db;
using keyline::test::sampleOrder;
using keyline::test::TempDatabase;

namespace {

IssuedCertificate certificateFor(const Device& d, int n) {
    IssuedCertificate c;
    c.serial = QStringLiteral("4%1").arg(n, 31, 16, QLatin1Char('0'));
    c.deviceId = d.id;
    c.orderId = d.orderId;
    c.publicKeySha256 = KeyFingerprintRegistry::fingerprint(QByteArray::number(n));
    c.der = QByteArray("\x30\x03\x02\x01", 4) + char(n);
    return c;
}

Device device(Database& db, const QString& order, const QString& chip) {
    auto d = DeviceRepository(db).ensureForChip(order, chip, QStringLiteral("port-01"));
    REQUIRE(d.ok());
    return *d;
}

} // namespace

TEST_CASE("the ledger issues one certificate per device and never above the quantity") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-1"), 2)).ok());
    const Device a = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-a"));
    const Device b = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-b"));
    const Device c = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-c"));
    CertificateLedger ledger(*t.db);

    REQUIRE(ledger.checkCanIssue(a.id).ok());
    auto first = ledger.record(certificateFor(a, 1));
    REQUIRE(first.ok());
    CHECK_FALSE(first->issuedAt.isEmpty());

    auto second = ledger.record(certificateFor(a, 2));
    REQUIRE_FALSE(second.ok());
    CHECK(isRefusal(second.error(), DbRefusal::CertificateAlreadyIssued));
    CHECK(second.error().message().contains(a.id));

    REQUIRE(ledger.record(certificateFor(b, 3)).ok());
    auto over = ledger.record(certificateFor(c, 4));
    REQUIRE_FALSE(over.ok());
    CHECK(isRefusal(over.error(), DbRefusal::QuantityExceeded));
    CHECK(isRefusal(ledger.checkCanIssue(c.id).error(), DbRefusal::QuantityExceeded));

    CHECK(*ledger.countForOrder(QStringLiteral("PO-1")) == 2);
    auto stored = ledger.forDevice(a.id);
    REQUIRE(stored.ok());
    REQUIRE(stored->has_value());
    CHECK((*stored)->der == certificateFor(a, 1).der);
    CHECK(ledger.listForOrder(QStringLiteral("PO-1"))->size() == 2);
}

TEST_CASE("the ledger refuses a reused serial and a device of another order") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-1"))).ok());
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-2"))).ok());
    const Device a = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-a"));
    const Device b = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-b"));
    CertificateLedger ledger(*t.db);
    REQUIRE(ledger.record(certificateFor(a, 1)).ok());
    IssuedCertificate sameSerial = certificateFor(b, 1);
    CHECK(isRefusal(ledger.record(sameSerial).error(), DbRefusal::SerialReused));
    IssuedCertificate wrongOrder = certificateFor(b, 2);
    wrongOrder.orderId = QStringLiteral("PO-2");
    CHECK(isRefusal(ledger.record(wrongOrder).error(), DbRefusal::DeviceNotInOrder));
    CHECK(*ledger.countForOrder(QStringLiteral("PO-1")) == 1);
}

TEST_CASE("a certificate and its audit entry commit together or not at all") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-1"))).ok());
    const Device a = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-a"));
    CertificateLedger ledger(*t.db);
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    {
        auto tx = t.db->begin();
        REQUIRE(tx.ok());
        REQUIRE(ledger.record(certificateFor(a, 1)).ok());
        REQUIRE(audit
                    .append({QStringLiteral("sam"),
                             QStringLiteral("PO-1"),
                             QStringLiteral("certificate.issued"),
                             {{QStringLiteral("device"), a.id}}})
                    .ok());
        // Power cut before commit: the transaction is never committed.
    }
    CHECK_FALSE(ledger.forDevice(a.id)->has_value());
    CHECK(audit.verifyChain()->entries == 0);

    auto tx = t.db->begin();
    REQUIRE(tx.ok());
    REQUIRE(ledger.record(certificateFor(a, 1)).ok());
    REQUIRE(audit
                .append({QStringLiteral("sam"),
                         QStringLiteral("PO-1"),
                         QStringLiteral("certificate.issued"),
                         {{QStringLiteral("device"), a.id}}})
                .ok());
    REQUIRE(tx->commit().ok());
    CHECK(ledger.forDevice(a.id)->has_value());
    CHECK(audit.verifyChain()->entries == 1);
}

TEST_CASE("a public key seen on another device is refused with its own error") {
    TempDatabase t;
    REQUIRE(OrderRepository(*t.db).create(sampleOrder(QStringLiteral("PO-1"))).ok());
    const Device a = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-a"));
    const Device b = device(*t.db, QStringLiteral("PO-1"), QStringLiteral("uid-b"));
    KeyFingerprintRegistry keys(*t.db);
    const QString fp = KeyFingerprintRegistry::fingerprint(QByteArray("spki-1"));
    CHECK(fp.size() == 64);

    auto first = keys.registerKey(fp, a.id);
    REQUIRE(first.ok());
    CHECK(*first == KeyRegistration::New);
    auto retry = keys.registerKey(fp, a.id);
    REQUIRE(retry.ok());
    CHECK(*retry == KeyRegistration::AlreadyThisDevice);

    auto clash = keys.registerKey(fp, b.id);
    REQUIRE_FALSE(clash.ok());
    CHECK(isRefusal(clash.error(), DbRefusal::DuplicatePublicKey));
    CHECK(clash.error().message().contains(a.id));
    CHECK(**keys.deviceForKey(fp) == a.id);
    CHECK(keys.registerKey(QStringLiteral("xyz"), a.id).error().code() ==
          ErrorCode::InvalidArgument);
}
