#include "sim/secure_boot.h"

#include "sim/ossl.h"

#include <QFile>
#include <deque>
#include <mutex>

namespace keyline::sim {

Result<firmware::VerifiedPackage> SecureBoot::verify(const QString& path, const DeviceState& state,
                                                     const QByteArray& imageSha256) const {
    if (state.otpKey.isEmpty())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("no image key in OTP: burn it before flashing a package"));
    if (state.keystore.isEmpty())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("no customer keystore: write it before flashing a package"));
    if (m_vendorKey.isNull())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("no vendor keystore key in the boot ROM"));
    if (!imageSha256.isEmpty())
        if (auto known = VerifiedPackageMemo::find(
                {imageSha256, state.otpKey, state.keystore, m_vendorKey.keyId(), m_hardware},
                state))
            return *known;
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
    const VerifiedPackageMemo::Anchors memoKey{ossl::sha256(bytes), state.otpKey, state.keystore,
                                               m_vendorKey.keyId(), m_hardware};
    if (auto known = VerifiedPackageMemo::find(memoKey, state))
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
        VerifiedPackageMemo::remember(memoKey, *verified);
    return verified;
}

namespace {

struct MemoEntry {
    VerifiedPackageMemo::Anchors anchors;
    firmware::VerifiedPackage result;
};

// A handful: a line flashes one package; tests that build several stay well below.
constexpr std::size_t kMemoEntries = 8;

std::mutex& memoMutex() {
    static std::mutex m;
    return m;
}

std::deque<MemoEntry>& memoEntries() {
    static std::deque<MemoEntry> entries;
    return entries;
}

} // namespace

std::optional<firmware::VerifiedPackage> VerifiedPackageMemo::find(const Anchors& anchors,
                                                                   const DeviceState& state) {
    std::lock_guard lock(memoMutex());
    for (const MemoEntry& e : memoEntries())
        if (e.anchors == anchors)
            return e.result.appCounter >= state.appCounter && e.result.osCounter >= state.osCounter
                       ? std::optional(e.result)
                       : std::nullopt;
    return std::nullopt;
}

void VerifiedPackageMemo::remember(const Anchors& anchors,
                                   const firmware::VerifiedPackage& verified) {
    std::lock_guard lock(memoMutex());
    auto& entries = memoEntries();
    std::erase_if(entries, [&](const MemoEntry& e) { return e.anchors == anchors; });
    entries.push_front({anchors, verified});
    if (entries.size() > kMemoEntries)
        entries.pop_back();
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
