// The device's package check (install and boot) and the keystore-bound checks it shares with
// the station (docs/package-format.md §7). Every check reads one private copy of the package.

#include "common/ossl_ptr.h"
#include "firmware_image/package_format.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace keyline::firmware {

using namespace pkg;

namespace pkg {

ComponentHasher::ComponentHasher(const std::vector<OsComponentEntry>& components)
    : m_components(components) {}

void ComponentHasher::feed(QByteArrayView plaintext) {
    while (!plaintext.isEmpty() && m_index < m_components.size()) {
        if (!m_hash) {
            m_hash = std::make_unique<Sha256>();
            m_left = m_components[m_index].size;
        }
        const qsizetype n = qsizetype(std::min<quint64>(m_left, quint64(plaintext.size())));
        m_hash->add(plaintext.first(n));
        plaintext = plaintext.sliced(n);
        m_left -= quint64(n);
        if (m_left == 0) {
            m_done.push_back(m_hash->final());
            m_hash.reset();
            ++m_index;
        }
    }
}

std::vector<QByteArray> ComponentHasher::finish() {
    std::vector<QByteArray> out = m_done;
    out.resize(m_components.size()); // a missing tail measures as empty: never equal
    return out;
}

Result<void> checkAgainstKeystore(QByteArrayView bytes, const PackageLayout& l,
                                  const KeystoreContent& keystore) {
    QByteArray appKey;
    for (const auto& e : keystore.entries)
        if (e.purpose == KeyPurpose::ApplicationSigning)
            appKey = e.publicKey;
    const PackageManifest& m = l.manifest;
    const QByteArrayView appSig =
        bytes.sliced(l.spans.appSignature.offset, l.spans.appSignature.size);
    if (m.customerId != keystore.customerId || m.app.customerId != keystore.customerId)
        return failed(PackageRegion::Customer,
                      QStringLiteral("package is for customer '%1' (application for '%2'), this "
                                     "keystore is customer '%3'")
                          .arg(m.customerId, m.app.customerId, keystore.customerId));
    if (l.environment != keystore.environment)
        return failed(
            PackageRegion::Environment,
            QStringLiteral("a %1 package and a %2 keystore: environments never mix")
                .arg(environmentName(l.environment), environmentName(keystore.environment)));
    const QByteArray keyId = keyIdOf(appKey);
    if (keyId != m.app.signerKeyId)
        return failed(PackageRegion::AppSignature,
                      QStringLiteral("application signed by key id %1, the keystore's "
                                     "application signing key is %2")
                          .arg(hexPrefix(m.app.signerKeyId), hexPrefix(keyId)));
    if (!verifyRaw(appKey, kAppManifestContext, m.appManifestBytes, appSig))
        return failed(PackageRegion::AppSignature,
                      QStringLiteral("the application manifest signature does not verify with "
                                     "the keystore's application signing key"));
    if (l.manifestSigned &&
        !verifyRaw(appKey, kPackageManifestContext, signedManifestOf(bytes, l),
                   bytes.sliced(l.spans.manifestSignature.offset, l.spans.manifestSignature.size)))
        return failed(PackageRegion::ManifestSignature,
                      QStringLiteral("the development manifest signature over header and "
                                     "manifest does not verify"));
    const QByteArrayView app = bytes.sliced(l.spans.application.offset, l.spans.application.size);
    if (sha256(app) != m.app.appSha256)
        return failed(PackageRegion::Application,
                      QStringLiteral("application image does not match the SHA-256 in the signed "
                                     "application manifest"));
    return success();
}

Error osFailure(const PackageLayout& l, const std::vector<QByteArray>& measured, bool tagOk) {
    QStringList wrong;
    for (std::size_t i = 0; i < l.manifest.components.size(); ++i)
        if (measured[i] != l.manifest.components[i].sha256)
            wrong << l.manifest.components[i].name;
    if (!tagOk && !wrong.isEmpty() && wrong.size() == qsizetype(measured.size()) &&
        measured.size() > 1)
        return failed(PackageRegion::OsIv,
                      QStringLiteral("no OS component decrypts: the IV was changed, or the "
                                     "package was sealed for another image key"));
    if (!wrong.isEmpty())
        return failed(PackageRegion::OsComponent,
                      QStringLiteral("OS component '%1' does not match its SHA-256 in the "
                                     "manifest%2")
                          .arg(wrong.first(), tagOk ? QString() : QStringLiteral(" (tag fails)")));
    return failed(PackageRegion::OsTag,
                  QStringLiteral("the AES-GCM tag does not verify: the tag was changed (the "
                                 "header, manifest and signatures are intact)"));
}

} // namespace pkg

namespace {

// AES-256-GCM with the OTP key: the plaintext leaves only when the tag and every hash verify.
Result<std::vector<ComponentMeasurement>> openOs(const QByteArray& bytes, const PackageLayout& l,
                                                 const QByteArray& key, QByteArray* osImage) {
    using CtxPtr = OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
    CtxPtr ctx(EVP_CIPHER_CTX_new());
    auto uc = [](QByteArrayView v) {
        return reinterpret_cast<const unsigned char*>(v.data());
    };
    const QByteArrayView all(bytes);
    const QByteArrayView iv = all.sliced(l.spans.osIv.offset, kOsIvBytes);
    const QByteArrayView aad = aadOf(all, l);
    QByteArray tag = all.sliced(l.spans.osTag.offset, kOsTagBytes).toByteArray();
    int len = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, int(kOsIvBytes), nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, uc(key), uc(iv)) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, uc(aad), int(aad.size())) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("AES-256-GCM set-up failed"));
    QByteArray plain(l.spans.os.size, Qt::Uninitialized);
    auto* out = reinterpret_cast<unsigned char*>(plain.data());
    constexpr qsizetype kChunk = 4 * 1024 * 1024; // EVP takes int lengths
    for (qsizetype at = 0; at < l.spans.os.size; at += kChunk) {
        const qsizetype n = std::min(kChunk, l.spans.os.size - at);
        if (EVP_DecryptUpdate(ctx.get(), out + at, &len, uc(all.sliced(l.spans.os.offset + at, n)),
                              int(n)) != 1 ||
            len != int(n))
            return Error(ErrorCode::Internal, QStringLiteral("AES-256-GCM decryption failed"));
    }
    const bool tagOk =
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(kOsTagBytes), tag.data()) == 1 &&
        EVP_DecryptFinal_ex(ctx.get(), out + l.spans.os.size, &len) == 1;
    ComponentHasher hasher(l.manifest.components);
    hasher.feed(plain);
    const std::vector<QByteArray> measured = hasher.finish();
    bool hashesOk = true;
    for (std::size_t i = 0; i < measured.size(); ++i)
        hashesOk = hashesOk && measured[i] == l.manifest.components[i].sha256;
    if (!tagOk || !hashesOk) {
        // The OS is confidential: unauthenticated plaintext is wiped, never handed out.
        OPENSSL_cleanse(plain.data(), std::size_t(plain.size()));
        return osFailure(l, measured, tagOk);
    }
    std::vector<ComponentMeasurement> result;
    for (std::size_t i = 0; i < measured.size(); ++i)
        result.push_back(
            {l.manifest.components[i].name, l.manifest.components[i].version, measured[i]});
    if (osImage)
        *osImage = std::move(plain);
    else
        OPENSSL_cleanse(plain.data(), std::size_t(plain.size()));
    return result;
}

} // namespace

Result<VerifiedPackage> verifyPackageForInstall(QByteArrayView packageBytes,
                                                const DeviceTrustAnchors& anchors,
                                                QByteArray* osImage) {
    if (anchors.otpImageKey.size() != 32)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("the OTP image key is 32 bytes"));
    if (packageBytes.size() > kMaxPackageBytes)
        return bad(PackageRegion::Length, QStringLiteral("size"),
                   QStringLiteral("%1 bytes, a package is at most %2")
                       .arg(packageBytes.size())
                       .arg(kMaxPackageBytes));
    // One private copy: whoever owns packageBytes cannot change what is checked and measured
    // between one check and the next (verify-then-use).
    const QByteArray bytes = packageBytes.toByteArray();

    auto ks = verifyKeystore(anchors.keystore, anchors.vendorKeystoreKey);
    if (!ks.ok())
        return failed(PackageRegion::Keystore,
                      QStringLiteral("the device's keystore does not verify: ") +
                          ks.error().message());
    KL_TRY_ASSIGN(const PackageLayout l, parseLayout(bytes));
    KL_TRY(checkAgainstKeystore(bytes, l, ks->content));
    const PackageManifest& m = l.manifest;
    if (m.app.counter < anchors.minimumCounter)
        return failed(PackageRegion::Rollback,
                      QStringLiteral("application counter %1 is below the device's %2")
                          .arg(m.app.counter)
                          .arg(anchors.minimumCounter));
    if (m.osCounter < anchors.minimumOsCounter)
        return failed(PackageRegion::Rollback,
                      QStringLiteral("OS security counter %1 is below the device's %2")
                          .arg(m.osCounter)
                          .arg(anchors.minimumOsCounter));
    if (!m.osHardware.contains(anchors.hardwareId) || !m.app.hardware.contains(anchors.hardwareId))
        return failed(
            PackageRegion::Hardware,
            QStringLiteral("hardware '%1' is not in the %2 compatibility list")
                .arg(anchors.hardwareId.left(64), m.osHardware.contains(anchors.hardwareId)
                                                      ? QStringLiteral("application's")
                                                      : QStringLiteral("OS's")));
    KL_TRY_ASSIGN(auto measured, openOs(bytes, l, anchors.otpImageKey, osImage));

    VerifiedPackage v;
    v.manifest = m;
    v.measurement = sha256(signedManifestOf(bytes, l));
    v.applicationSha256 =
        sha256(QByteArrayView(bytes).sliced(l.spans.application.offset, l.spans.application.size));
    v.components = std::move(measured);
    v.osVersion = m.osVersion;
    v.appVersion = m.app.version;
    v.osCounter = m.osCounter;
    v.appCounter = m.app.counter;
    return v;
}

} // namespace keyline::firmware
