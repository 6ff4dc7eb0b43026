#include "provisioning/keystore_step.h"

namespace keyline::provisioning {

Result<QString> ensureKeystore(flashing::DeviceClient& device, const QByteArray& keystore,
                               const QByteArray& keystoreSha256) {
    KL_TRY_ASSIGN(const protocol::KeystoreStatusResponse status, device.keystoreStatus());
    if (status.present && status.sha256 == keystoreSha256)
        return QStringLiteral("already held");
    KL_TRY_ASSIGN(const protocol::KeystoreStatusResponse written, device.writeKeystore(keystore));
    if (!written.present || written.sha256 != keystoreSha256)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("the device reports keystore SHA-256 %1 after the write, the "
                                    "order's keystore is %2")
                         .arg(QString::fromLatin1(written.sha256.toHex()),
                              QString::fromLatin1(keystoreSha256.toHex())));
    return QStringLiteral("written");
}

} // namespace keyline::provisioning
