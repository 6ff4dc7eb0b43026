#include "provisioning/boot_check.h"

#include "hsm/csr_pop.h"

namespace keyline::provisioning {

namespace {

Error mismatch(const QString& field, const QByteArray& reported, const QByteArray& expected) {
    return Error(ErrorCode::VerificationFailed,
                 QStringLiteral("boot report: %1 is %2, the order expects %3")
                     .arg(field, QString::fromLatin1(reported.toHex()),
                          QString::fromLatin1(expected.toHex())));
}

Error mismatch(const QString& field, const QString& reported, const QString& expected) {
    return Error(ErrorCode::VerificationFailed,
                 QStringLiteral("boot report: %1 is '%2', the order expects '%3'")
                     .arg(field, reported.left(64), expected));
}

Result<void> checkPackage(const protocol::BootReport& r, const ExpectedBoot& e) {
    if (r.firmwareSha256 != e.packageSha256)
        return mismatch(QStringLiteral("firmware SHA-256"), r.firmwareSha256, e.packageSha256);
    if (r.packageMeasurement != e.measurement)
        return mismatch(QStringLiteral("package measurement"), r.packageMeasurement, e.measurement);
    if (r.applicationSha256 != e.applicationSha256)
        return mismatch(QStringLiteral("application SHA-256"), r.applicationSha256,
                        e.applicationSha256);
    if (r.osVersion != e.osVersion)
        return mismatch(QStringLiteral("OS version"), r.osVersion, e.osVersion);
    if (r.appVersion != e.appVersion)
        return mismatch(QStringLiteral("application version"), r.appVersion, e.appVersion);
    if (r.osCounter != e.osCounter || r.appCounter != e.appCounter)
        return mismatch(QStringLiteral("anti-rollback counters"),
                        QStringLiteral("%1/%2").arg(r.osCounter).arg(r.appCounter),
                        QStringLiteral("%1/%2").arg(e.osCounter).arg(e.appCounter));
    if (std::size_t(r.components.size()) != e.components.size())
        return mismatch(QStringLiteral("OS component count"), QString::number(r.components.size()),
                        QString::number(e.components.size()));
    for (std::size_t i = 0; i < e.components.size(); ++i) {
        const auto& got = r.components[qsizetype(i)];
        const auto& want = e.components[i];
        if (got.name != want.name || got.version != want.version)
            return mismatch(QStringLiteral("OS component %1").arg(i + 1),
                            got.name + QLatin1Char(' ') + got.version,
                            want.name + QLatin1Char(' ') + want.version);
        if (got.sha256 != want.sha256)
            return mismatch(QStringLiteral("SHA-256 of OS component '%1'").arg(want.name),
                            got.sha256, want.sha256);
    }
    return success();
}

} // namespace

Result<protocol::BootReport> checkBootReport(const protocol::BootReportResponse& answer,
                                             const BootExpectation& expected) {
    KL_TRY_ASSIGN(const hsm::P256PublicKey key,
                  hsm::P256PublicKey::fromPoint(expected.devicePoint));
    if (!key.verifySha256(protocol::bootReportMessage(answer.report), answer.signature))
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("boot report: the signature does not verify with the device "
                                    "key the station certified"));
    KL_TRY_ASSIGN(const protocol::BootReport r, protocol::BootReport::decode(answer.report));
    if (r.nonce != expected.nonce)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("boot report: it answers another nonce (a replayed report)"));
    if (r.chipUid != expected.chipUid)
        return mismatch(QStringLiteral("chip UID"), r.chipUid, expected.chipUid);
    if (!r.bootOk)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("secure boot failed on the device: %1").arg(r.message));
    if (r.otpKeyCheck != expected.otpKeyCheck)
        return mismatch(QStringLiteral("OTP key check value"), r.otpKeyCheck, expected.otpKeyCheck);
    if (r.keystoreSha256 != expected.keystoreSha256)
        return mismatch(QStringLiteral("keystore SHA-256"), r.keystoreSha256,
                        expected.keystoreSha256);
    if (!expected.package)
        return Error(ErrorCode::Internal, QStringLiteral("no package to check the boot against"));
    KL_TRY(checkPackage(r, *expected.package));
    return r;
}

} // namespace keyline::provisioning
