#pragma once

// Every device public key the station has seen, by fingerprint. A key seen on two devices means
// a broken device random number generator (or a cloned device): the second is refused, with
// its own error detail (DbRefusal::DuplicatePublicKey), before any certificate is issued.

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <optional>

namespace keyline::db {

class Database;

enum class KeyRegistration {
    New,              // first time this key is seen
    AlreadyThisDevice // the same device presented it again (e.g. a retry after a power cut)
};

class KeyFingerprintRegistry {
public:
    explicit KeyFingerprintRegistry(Database& db)
        : m_db(db) {}

    // SHA-256 of a DER SubjectPublicKeyInfo, lowercase hex: the fingerprint stored here and in
    // the certificate ledger.
    static QString fingerprint(const QByteArray& spkiDer);

    // Records that `deviceId` holds the key. Refused (DuplicatePublicKey) if another device
    // presented it first; NotFound for an unknown device.
    Result<KeyRegistration> registerKey(const QString& fingerprintHex, const QString& deviceId);

    // The device that first presented the key, if any.
    Result<std::optional<QString>> deviceForKey(const QString& fingerprintHex);

private:
    Database& m_db;
};

} // namespace keyline::db
