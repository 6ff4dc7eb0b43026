#include "sim/keystore_verifier.h"

#include "firmware_image/keystore.h"

#include <QFile>

namespace keyline::sim {

namespace {

Error rejected(const QString& why) {
    return Error(ErrorCode::VerificationFailed, why);
}

} // namespace

KeystoreVerifier::KeystoreVerifier(firmware::PublicKey vendorKey)
    : m_vendorKey(std::move(vendorKey)) {}

Result<firmware::PublicKey> KeystoreVerifier::loadVendorKey(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("vendor keystore key %1: %2 (export it with 'keyline hsm "
                                    "init-dev': export/keystore-signing.pub.pem)")
                         .arg(path, file.errorString()));
    // Small on purpose: a public key PEM is a few hundred bytes; anything big is the wrong file.
    const QByteArray bytes = file.read(64 * 1024);
    // Only PEM is trimmed: a DER key may well end in a byte that looks like white space.
    const QByteArray key = bytes.trimmed().startsWith("-----BEGIN") ? bytes.trimmed() : bytes;
    auto parsed = firmware::PublicKey::parse(key);
    if (!parsed)
        return Error(
            ErrorCode::InvalidArgument,
            QStringLiteral("vendor keystore key %1: %2").arg(path, parsed.error().message()));
    return *parsed;
}

Result<void> KeystoreVerifier::verify(const QByteArray& keystore, const QByteArray& stored) const {
    if (m_vendorKey.isNull())
        return rejected(QStringLiteral("no vendor key installed in this device"));
    auto verified = firmware::verifyKeystore(keystore, m_vendorKey);
    if (!verified)
        return rejected(verified.error().message());
    if (stored.isEmpty())
        return success();
    // The stored keystore verified when it was written; it is parsed, not trusted blindly, so
    // that a damaged state file cannot turn into a crash.
    auto current = firmware::parseKeystore(stored);
    if (current && verified->content.serial < current->content.serial)
        return rejected(QStringLiteral("keystore serial %1 is lower than the stored keystore's "
                                       "%2 (anti-rollback)")
                            .arg(verified->content.serial)
                            .arg(current->content.serial));
    return success();
}

} // namespace keyline::sim
