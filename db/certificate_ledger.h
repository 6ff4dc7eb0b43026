#pragma once

// The issuing CA's ledger: every certificate the station issued, recorded before it leaves the
// station. It enforces the two issuance rules inside the writing transaction: at most one
// certificate per device, never more certificates than the order's quantity.
//
// The engine calls checkCanIssue() and record() in one transaction around the HSM signature:
//   auto tx = db.begin(); ledger.checkCanIssue(device); <sign in HSM>; ledger.record(cert);
//   audit.append(...); tx.commit(); <only now send the certificate to the device>

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <optional>
#include <vector>

namespace keyline::db {

class Database;

struct IssuedCertificate {
    QString serial; // lowercase hex of the certificate's serial number
    QString deviceId;
    QString orderId;
    QString publicKeySha256; // SHA-256 of the subject public key info (DER), lowercase hex
    QByteArray der;
    QString issuedAt; // set by record()
};

class CertificateLedger {
public:
    explicit CertificateLedger(Database& db)
        : m_db(db) {}

    // Whether `deviceId` may receive a certificate now. Refused: CertificateAlreadyIssued,
    // QuantityExceeded, OrderClosed; NotFound for an unknown device.
    Result<void> checkCanIssue(const QString& deviceId);

    // checkCanIssue, then records. Also Refused (SerialReused, DeviceNotInOrder).
    Result<IssuedCertificate> record(const IssuedCertificate& certificate);

    Result<std::optional<IssuedCertificate>> forDevice(const QString& deviceId);
    Result<int> countForOrder(const QString& orderId);
    Result<std::vector<IssuedCertificate>> listForOrder(const QString& orderId);

private:
    Database& m_db;
};

} // namespace keyline::db
