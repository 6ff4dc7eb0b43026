// The application manifest (customer side) and the signed-app file (KLSA) that carries it from
// the customer to the station. Layouts: docs/package-format.md §3 and §4.

#include "firmware_image/package_internal.h"

namespace keyline::firmware {

using namespace pkg;

namespace {

constexpr quint16 kAppManifestVersion = 1;
constexpr quint8 kSigEcdsaP256Sha256Raw = 1;
const QByteArray kSignedAppMagic = QByteArrayLiteral("KLSA");
constexpr quint16 kSignedAppVersion = 1;

constexpr auto kApp = PackageRegion::AppManifest;

} // namespace

Result<QByteArray> encodeAppManifest(const AppManifest& m) {
    auto invalid = [](const QString& why) {
        return Error(ErrorCode::InvalidArgument, QStringLiteral("application manifest: ") + why);
    };
    const QByteArray customer = m.customerId.toUtf8();
    const QByteArray name = m.name.toUtf8();
    const QByteArray version = m.version.toUtf8();
    if (!validCustomerId(customer))
        return invalid(QStringLiteral("customer ID must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    if (!validAppName(name))
        return invalid(QStringLiteral("name must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    if (!validVersion(version))
        return invalid(QStringLiteral("version must be 1 to 32 printable ASCII, no space"));
    KL_TRY(checkHardwareList(m.hardware, kApp, false));
    if (m.appSize == 0 || m.appSize > quint64(kMaxApplicationBytes))
        return invalid(QStringLiteral("application of %1 bytes, expected 1 to %2")
                           .arg(m.appSize)
                           .arg(kMaxApplicationBytes));
    if (m.appSha256.size() != 32 || m.signerKeyId.size() != 32)
        return invalid(QStringLiteral("hash and signer key id are 32 bytes"));
    QByteArray out;
    put<quint16>(out, kAppManifestVersion);
    put<quint16>(out, quint16(customer.size()));
    out.append(customer);
    out.append(char(m.environment));
    out.append(char(name.size()));
    out.append(name);
    out.append(char(version.size()));
    out.append(version);
    put<quint64>(out, m.counter);
    putHardware(out, m.hardware);
    put<quint64>(out, m.appSize);
    out.append(m.appSha256);
    out.append(m.signerKeyId);
    out.append(char(kSigEcdsaP256Sha256Raw));
    return out;
}

Result<AppManifest> parseAppManifest(QByteArrayView bytes) {
    if (bytes.size() > kMaxAppManifestBytes)
        return bad(
            kApp, QStringLiteral("size"),
            QStringLiteral("%1 bytes, at most %2").arg(bytes.size()).arg(kMaxAppManifestBytes));
    Reader r(bytes);
    AppManifest m;
    quint16 version = 0;
    if (!r.num(&version))
        return bad(kApp, QStringLiteral("version"), QStringLiteral("truncated"));
    if (version != kAppManifestVersion)
        return bad(
            kApp, QStringLiteral("version"),
            QStringLiteral("%1, this reader knows %2").arg(version).arg(kAppManifestVersion));
    quint16 idLen = 0;
    QByteArrayView id;
    if (!r.num(&idLen) || !r.take(idLen, &id))
        return bad(kApp, QStringLiteral("customer_id"), QStringLiteral("truncated"));
    if (!validCustomerId(id))
        return bad(kApp, QStringLiteral("customer_id"),
                   QStringLiteral("must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    m.customerId = QString::fromLatin1(id);
    quint8 env = 0;
    if (!r.num(&env))
        return bad(kApp, QStringLiteral("environment"), QStringLiteral("truncated"));
    if (env != quint8(Environment::Development) && env != quint8(Environment::Production))
        return bad(kApp, QStringLiteral("environment"),
                   QStringLiteral("%1 is not 1 or 2").arg(env));
    m.environment = Environment(env);
    quint8 len = 0;
    QByteArrayView text;
    if (!r.num(&len) || !r.take(len, &text))
        return bad(kApp, QStringLiteral("name"), QStringLiteral("truncated"));
    if (!validAppName(text))
        return bad(kApp, QStringLiteral("name"),
                   QStringLiteral("must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    m.name = QString::fromLatin1(text);
    if (!r.num(&len) || !r.take(len, &text))
        return bad(kApp, QStringLiteral("version"), QStringLiteral("truncated"));
    if (!validVersion(text))
        return bad(kApp, QStringLiteral("app_version"),
                   QStringLiteral("must be 1 to 32 printable ASCII, no space"));
    m.version = QString::fromLatin1(text);
    if (!r.num(&m.counter))
        return bad(kApp, QStringLiteral("counter"), QStringLiteral("truncated"));
    KL_TRY_ASSIGN(m.hardware, readHardware(r, kApp));
    if (!r.num(&m.appSize))
        return bad(kApp, QStringLiteral("app_size"), QStringLiteral("truncated"));
    if (m.appSize == 0 || m.appSize > quint64(kMaxApplicationBytes))
        return bad(kApp, QStringLiteral("app_size"),
                   QStringLiteral("%1, expected 1 to %2").arg(m.appSize).arg(kMaxApplicationBytes));
    QByteArrayView hash, keyId;
    quint8 alg = 0;
    if (!r.take(32, &hash) || !r.take(32, &keyId) || !r.num(&alg))
        return bad(kApp, QStringLiteral("app_sha256"), QStringLiteral("truncated"));
    if (alg != kSigEcdsaP256Sha256Raw)
        return bad(kApp, QStringLiteral("signature_algorithm"),
                   QStringLiteral("unknown algorithm %1").arg(alg));
    if (r.left() != 0)
        return bad(kApp, QStringLiteral("end"),
                   QStringLiteral("%1 bytes after the manifest").arg(r.left()));
    m.appSha256 = hash.toByteArray();
    m.signerKeyId = keyId.toByteArray();
    return m;
}

Result<QByteArray> buildSignedApp(const AppRelease& release, const QByteArray& image,
                                  const Signer& signer) {
    AppManifest m;
    m.customerId = release.customerId;
    m.environment = release.environment;
    m.name = release.name;
    m.version = release.version;
    m.counter = release.counter;
    m.hardware = release.hardware;
    m.appSize = quint64(image.size());
    m.appSha256 = sha256(image);
    m.signerKeyId = keyIdOf(signer.publicKeyDer());
    if (m.signerKeyId.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("the application signer is not a "
                                                                "P-256 key"));
    KL_TRY_ASSIGN(const QByteArray body, encodeAppManifest(m));
    KL_TRY_ASSIGN(const QByteArray signature, signRaw(signer, kAppManifestContext, body));
    QByteArray out = kSignedAppMagic;
    put<quint16>(out, kSignedAppVersion);
    put<quint16>(out, quint16(body.size()));
    out.append(body);
    out.append(signature);
    put<quint64>(out, quint64(image.size()));
    out.append(image);
    // What we hand out must verify: check our own output.
    if (auto self = verifySignedApp(out, signer.publicKeyDer()); !self.ok())
        return Error(ErrorCode::Internal, QStringLiteral("the new signed app does not verify: ") +
                                              self.error().message());
    return out;
}

Result<SignedApp> parseSignedApp(const QByteArray& bytes) {
    if (bytes.size() > kMaxApplicationBytes + kMaxAppManifestBytes + 128)
        return bad(PackageRegion::Length, QStringLiteral("size"),
                   QStringLiteral("%1 bytes is larger than any signed app").arg(bytes.size()));
    Reader r(bytes);
    QByteArrayView magic;
    quint16 version = 0, mLen = 0;
    if (!r.take(4, &magic) || magic != kSignedAppMagic)
        return bad(PackageRegion::Header, QStringLiteral("magic"),
                   QStringLiteral("not a Keyline signed app (\"KLSA\")"));
    if (!r.num(&version) || version != kSignedAppVersion)
        return bad(PackageRegion::Header, QStringLiteral("version"),
                   QStringLiteral("this reader knows version %1").arg(kSignedAppVersion));
    QByteArrayView body, sig, image;
    if (!r.num(&mLen) || !r.take(mLen, &body))
        return bad(kApp, QStringLiteral("length"), QStringLiteral("truncated"));
    SignedApp app;
    KL_TRY_ASSIGN(app.manifest, parseAppManifest(body));
    if (!r.take(kSignatureBytes, &sig))
        return bad(PackageRegion::AppSignature, QStringLiteral("signature"),
                   QStringLiteral("truncated"));
    quint64 size = 0;
    if (!r.num(&size) || size != app.manifest.appSize)
        return bad(PackageRegion::Application, QStringLiteral("length"),
                   QStringLiteral("does not match the manifest's app_size"));
    if (!r.take(qsizetype(size), &image))
        return bad(PackageRegion::Application, QStringLiteral("image"),
                   QStringLiteral("truncated"));
    if (r.left() != 0)
        return bad(PackageRegion::Length, QStringLiteral("end"),
                   QStringLiteral("%1 bytes after the application").arg(r.left()));
    app.manifestBytes = body.toByteArray();
    app.signature = sig.toByteArray();
    app.image = image.toByteArray();
    return app;
}

Result<SignedApp> verifySignedApp(const QByteArray& bytes, const QByteArray& appKey) {
    KL_TRY_ASSIGN(SignedApp app, parseSignedApp(bytes));
    if (sha256(app.image) != app.manifest.appSha256)
        return failed(PackageRegion::Application,
                      QStringLiteral("application image does not match the manifest's SHA-256"));
    const QByteArray keyId = keyIdOf(appKey);
    if (keyId.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("application signing key is not a P-256 public key"));
    if (keyId != app.manifest.signerKeyId)
        return failed(PackageRegion::AppSignature,
                      QStringLiteral("signed by another key (key id %1), not the application "
                                     "signing key %2")
                          .arg(hexPrefix(app.manifest.signerKeyId), hexPrefix(keyId)));
    if (!verifyRaw(appKey, kAppManifestContext, app.manifestBytes, app.signature))
        return failed(PackageRegion::AppSignature,
                      QStringLiteral("application manifest signature does not verify"));
    return app;
}

} // namespace keyline::firmware
