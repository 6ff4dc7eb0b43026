#include "sim/secure_boot.h"

#include "sim/ossl.h"

#include <QFile>

namespace keyline::sim {

Result<firmware::VerifiedPackage> SecureBoot::verify(const QString& path,
                                                     const DeviceState& state) const {
    if (state.otpKey.isEmpty())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("no image key in OTP: burn it before flashing a package"));
    if (state.keystore.isEmpty())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("no customer keystore: write it before flashing a package"));
    if (m_vendorKey.isNull())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("no vendor keystore key in the boot ROM"));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot read the image %1: %2").arg(path, file.errorString()));
    if (file.size() > firmware::kMaxPackageBytes)
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("the image is %1 bytes, more than a package may be").arg(file.size()));
    const QByteArray bytes = file.readAll();
    if (bytes.size() != file.size())
        return Error(ErrorCode::Io, QStringLiteral("cannot read the whole image %1").arg(path));
    const QByteArray imageSha256 = ossl::sha256(bytes);
    if (const auto* known = remembered(imageSha256, state))
        return *known;
    firmware::DeviceTrustAnchors anchors;
    anchors.otpImageKey = state.otpKey;
    anchors.vendorKeystoreKey = m_vendorKey;
    anchors.keystore = state.keystore;
    anchors.hardwareId = m_hardware;
    anchors.minimumCounter = state.appCounter;
    anchors.minimumOsCounter = state.osCounter;
    auto verified = firmware::verifyPackageForInstall(bytes, anchors);
    if (verified)
        m_last = Verified{imageSha256, state.otpKey, state.keystore, *verified};
    return verified;
}

const firmware::VerifiedPackage* SecureBoot::remembered(const QByteArray& imageSha256,
                                                        const DeviceState& state) const {
    if (!m_last || m_last->imageSha256 != imageSha256 || m_last->otpKey != state.otpKey ||
        m_last->keystore != state.keystore || m_last->result.appCounter < state.appCounter ||
        m_last->result.osCounter < state.osCounter)
        return nullptr;
    return &m_last->result;
}

void SecureBoot::measure(const firmware::VerifiedPackage& verified, protocol::BootReport& report) {
    report.osVersion = verified.osVersion;
    report.appVersion = verified.appVersion;
    report.packageMeasurement = verified.measurement;
    report.applicationSha256 = verified.applicationSha256;
    report.osCounter = verified.osCounter;
    report.appCounter = verified.appCounter;
    report.components.clear();
    for (const auto& c : verified.components)
        report.components.append({c.name, c.version, c.sha256});
}

} // namespace keyline::sim
