#include "db/certificate_ledger.h"

#include "db/database.h"
#include "db/db_error.h"
#include "db/device_repository.h"
#include "db/order_repository.h"
#include "db/timestamp.h"

#include <QRegularExpression>

namespace keyline::db {

namespace {

const QString kColumns =
    QStringLiteral("serial, device_id, order_id, public_key_sha256, der, issued_at");

template <typename Row> // QSqlQuery or QSqlRecord
IssuedCertificate certificateFromRow(const Row& q) {
    IssuedCertificate c;
    c.serial = q.value(0).toString();
    c.deviceId = q.value(1).toString();
    c.orderId = q.value(2).toString();
    c.publicKeySha256 = q.value(3).toString();
    c.der = q.value(4).toByteArray();
    c.issuedAt = q.value(5).toString();
    return c;
}

} // namespace

Result<void> CertificateLedger::checkCanIssue(const QString& deviceId) {
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY_ASSIGN(const Device device, DeviceRepository(m_db).find(deviceId));
    KL_TRY_ASSIGN(std::optional<IssuedCertificate> existing, forDevice(deviceId));
    if (existing)
        return refusal(DbRefusal::CertificateAlreadyIssued,
                       QStringLiteral("device %1 already has certificate %2: a device gets one "
                                      "certificate, ever")
                           .arg(deviceId, existing->serial));
    // Locked before the count: stations issuing for the same order queue here, so the count
    // each sees includes every certificate committed before it, and never passes the quantity.
    KL_TRY_ASSIGN(const Order order, OrderRepository(m_db).findForUpdate(device.orderId));
    if (order.state != OrderState::Open)
        return refusal(DbRefusal::OrderClosed,
                       QStringLiteral("order %1 is closed: no more certificates").arg(order.id));
    KL_TRY_ASSIGN(const int issued, countForOrder(order.id));
    if (issued >= order.quantity)
        return refusal(DbRefusal::QuantityExceeded,
                       QStringLiteral("order %1 has all %2 certificates its quantity allows")
                           .arg(order.id)
                           .arg(order.quantity));
    return tx.commit();
}

Result<IssuedCertificate> CertificateLedger::record(const IssuedCertificate& certificate) {
    static const QRegularExpression serialPattern(QStringLiteral("^[0-9a-f]{1,64}\\z"));
    if (!serialPattern.match(certificate.serial).hasMatch() ||
        !isSha256Hex(certificate.publicKeySha256) || certificate.der.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("certificate for %1: serial and key hash must be lowercase "
                                    "hex and the DER must not be empty")
                         .arg(certificate.deviceId));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY(checkCanIssue(certificate.deviceId));
    KL_TRY_ASSIGN(const Device device, DeviceRepository(m_db).find(certificate.deviceId));
    if (device.orderId != certificate.orderId)
        return refusal(DbRefusal::DeviceNotInOrder,
                       QStringLiteral("device %1 belongs to order %2, not %3")
                           .arg(device.id, device.orderId, certificate.orderId));
    KL_TRY_ASSIGN(QSqlQuery serial,
                  m_db.exec(QStringLiteral("SELECT device_id FROM certificates WHERE serial = ?"),
                            {certificate.serial}));
    if (serial.next())
        return refusal(DbRefusal::SerialReused,
                       QStringLiteral("serial %1 was already issued to %2")
                           .arg(certificate.serial, serial.value(0).toString()));
    IssuedCertificate recorded = certificate;
    recorded.issuedAt = timestampNow();
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO certificates (") + kColumns +
                        QStringLiteral(") VALUES (?, ?, ?, ?, ?, ?)"),
                    {recorded.serial, recorded.deviceId, recorded.orderId, recorded.publicKeySha256,
                     recorded.der, recorded.issuedAt}));
    KL_TRY(tx.commit());
    return recorded;
}

Result<std::optional<IssuedCertificate>> CertificateLedger::forDevice(const QString& deviceId) {
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT ") + kColumns +
                               QStringLiteral(" FROM certificates WHERE device_id = ?"),
                           {deviceId}));
    if (!row)
        return std::optional<IssuedCertificate>();
    return std::optional<IssuedCertificate>(certificateFromRow(*row));
}

Result<int> CertificateLedger::countForOrder(const QString& orderId) {
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT COUNT(*) FROM certificates WHERE order_id = ?"),
                           {orderId}));
    return row ? row->value(0).toInt() : 0;
}

Result<std::vector<IssuedCertificate>> CertificateLedger::listForOrder(const QString& orderId) {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                             QStringLiteral(" FROM certificates WHERE "
                                                            "order_id = ? ORDER BY issued_at, "
                                                            "device_id"),
                                         {orderId}));
    std::vector<IssuedCertificate> list;
    while (q.next())
        list.push_back(certificateFromRow(q));
    return list;
}

} // namespace keyline::db
