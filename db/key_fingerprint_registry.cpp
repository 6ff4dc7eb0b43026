#include "db/key_fingerprint_registry.h"

#include "db/database.h"
#include "db/db_error.h"
#include "db/order_repository.h"
#include "db/timestamp.h"

#include <QCryptographicHash>

namespace keyline::db {

QString KeyFingerprintRegistry::fingerprint(const QByteArray& spkiDer) {
    return QString::fromLatin1(
        QCryptographicHash::hash(spkiDer, QCryptographicHash::Sha256).toHex());
}

Result<KeyRegistration> KeyFingerprintRegistry::registerKey(const QString& fingerprintHex,
                                                            const QString& deviceId) {
    if (!isSha256Hex(fingerprintHex))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("key fingerprint must be SHA-256 in lowercase hex"));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY_ASSIGN(std::optional<QString> owner, deviceForKey(fingerprintHex));
    if (owner) {
        if (*owner != deviceId)
            return refusal(DbRefusal::DuplicatePublicKey,
                           QStringLiteral("device %1 presented public key %2, which device %3 "
                                          "presented first: its random number generator may be "
                                          "broken; scrap the device")
                               .arg(deviceId, fingerprintHex, *owner));
        KL_TRY(tx.commit());
        return KeyRegistration::AlreadyThisDevice;
    }
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> known,
                  m_db.one(QStringLiteral("SELECT 1 FROM devices WHERE id = ?"), {deviceId}));
    if (!known)
        return Error(ErrorCode::NotFound, QStringLiteral("no device %1").arg(deviceId));
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO device_public_keys (sha256, device_id, "
                                   "first_seen_at) VALUES (?, ?, ?)"),
                    {fingerprintHex, deviceId, timestampNow()}));
    KL_TRY(tx.commit());
    return KeyRegistration::New;
}

Result<std::optional<QString>> KeyFingerprintRegistry::deviceForKey(const QString& fingerprintHex) {
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT device_id FROM device_public_keys WHERE "
                                          "sha256 = ?"),
                           {fingerprintHex}));
    if (!row)
        return std::optional<QString>();
    return std::optional<QString>(row->value(0).toString());
}

} // namespace keyline::db
