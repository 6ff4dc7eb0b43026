// Building a package in one sequential pass (docs/package-format.md §6): everything the AAD
// covers is known before the OS is encrypted, so the output is written front to back and the
// OS ciphertext goes straight from the sealer to the output, chunk by chunk.

#include "firmware_image/package_format.h"

namespace keyline::firmware {

using namespace pkg;

namespace {

// Large enough that the per-call PKCS#11 overhead vanishes, small enough to stay in cache.
constexpr qsizetype kChunk = 2 * 1024 * 1024;

Result<void> writeAll(QIODevice& out, QByteArrayView data) {
    if (data.isEmpty())
        return success();
    if (out.write(data.data(), data.size()) != data.size())
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write the package: %1").arg(out.errorString()));
    return success();
}

} // namespace

Result<PackageSummary> writePackage(const PackageInput& input, OsSealer& sealer,
                                    const Signer* manifestSigner, QIODevice& out) {
    auto app = parseSignedApp(input.signedApp);
    if (!app.ok())
        return Error(ErrorCode::BadInput, app.error().message())
            .withContext(QStringLiteral("signed app"));
    if (sha256(app->image) != app->manifest.appSha256)
        return failed(PackageRegion::Application,
                      QStringLiteral("the signed app's image does not match its SHA-256"));
    const Environment env = app->manifest.environment;
    if (env == Environment::Development) {
        if (!manifestSigner)
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("a development package needs the development application "
                                        "key to sign its manifest"));
        if (keyIdOf(manifestSigner->publicKeyDer()) != app->manifest.signerKeyId)
            return Error(ErrorCode::Refused,
                         QStringLiteral("the application was signed by key id %1, the manifest "
                                        "signer is another key: one development key signs both")
                             .arg(hexPrefix(app->manifest.signerKeyId)));
    } else if (manifestSigner) {
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("a production package carries no manifest signature: the "
                                    "station never holds the customer's key"));
    }

    PackageManifest m;
    m.customerId = app->manifest.customerId;
    m.environment = env;
    m.osVersion = input.osVersion;
    m.osCounter = input.osCounter;
    m.osHardware = input.osHardware;
    m.appManifestBytes = app->manifestBytes;
    m.app = app->manifest;
    quint64 osLength = 0;
    for (const auto& c : input.components) {
        if (c.data.isEmpty())
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("OS component '%1' is empty").arg(c.name));
        // Hashed here, once, over the same bytes that are encrypted below.
        m.components.push_back(
            {c.name, c.version, osLength, quint64(c.data.size()), sha256(c.data)});
        osLength += quint64(c.data.size());
    }
    KL_TRY_ASSIGN(const QByteArray manifest, encodeManifest(m));

    PackageHeader h;
    h.environment = env;
    h.manifestSigned = env == Environment::Development;
    h.manifestLength = quint32(manifest.size());
    h.osLength = osLength;
    h.appLength = quint64(app->image.size());
    const qint64 total = packageLengthFor(h);
    if (osLength == 0 || total > kMaxPackageBytes)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("package of %1 bytes (OS %2): at most %3")
                         .arg(total)
                         .arg(osLength)
                         .arg(kMaxPackageBytes));
    h.packageLength = quint64(total);
    const QByteArray signedPart = encodeHeader(h) + manifest;

    QByteArray aad = signedPart;
    if (manifestSigner) {
        KL_TRY_ASSIGN(const QByteArray sig,
                      signRaw(*manifestSigner, kPackageManifestContext, signedPart));
        aad += sig;
    }
    aad += app->signature;

    KL_TRY_ASSIGN(auto stream, sealer.begin(aad));
    const QByteArray iv = stream->iv();
    if (iv.size() != kOsIvBytes)
        return Error(ErrorCode::Internal,
                     QStringLiteral("the sealer chose a %1-byte IV, not 12").arg(iv.size()));
    KL_TRY(writeAll(out, aad));
    KL_TRY(writeAll(out, iv));
    qint64 written = aad.size() + iv.size();
    for (const auto& c : input.components)
        for (qsizetype at = 0; at < c.data.size(); at += kChunk) {
            KL_TRY_ASSIGN(const QByteArray ct, stream->update(QByteArrayView(c.data).sliced(
                                                   at, std::min(kChunk, c.data.size() - at))));
            KL_TRY(writeAll(out, ct));
            written += ct.size();
        }
    KL_TRY_ASSIGN(const OsSealStream::Tail tail, stream->finish());
    if (tail.tag.size() != kOsTagBytes)
        return Error(ErrorCode::Internal,
                     QStringLiteral("the sealer returned a %1-byte tag").arg(tail.tag.size()));
    KL_TRY(writeAll(out, tail.ciphertext));
    KL_TRY(writeAll(out, tail.tag));
    KL_TRY(writeAll(out, app->image));
    written += tail.ciphertext.size() + tail.tag.size() + app->image.size();
    if (written != total)
        return Error(ErrorCode::Internal,
                     QStringLiteral("wrote %1 bytes, the header says %2 (the sealer changed the "
                                    "ciphertext length)")
                         .arg(written)
                         .arg(total));

    PackageSummary s;
    s.bytes = total;
    s.measurement = sha256(signedPart);
    s.manifest = std::move(m);
    return s;
}

} // namespace keyline::firmware
