// `keyline package verify`: what the station can check without the device's OTP key. The OS
// tag is checked through an OsOpener (the HSM) when one is given; the plaintext is only hashed.

#include "firmware_image/package_format.h"

namespace keyline::firmware {

using namespace pkg;

namespace {

QString pass() {
    return QStringLiteral("PASS");
}
QString notChecked() {
    return QStringLiteral("not-checked");
}

Result<void> checkOs(QByteArrayView bytes, const PackageLayout& l, OsOpener& opener) {
    const QByteArray iv = bytes.sliced(l.spans.osIv.offset, kOsIvBytes).toByteArray();
    const QByteArray tag = bytes.sliced(l.spans.osTag.offset, kOsTagBytes).toByteArray();
    auto stream = opener.begin(iv, aadOf(bytes, l).toByteArray(), tag);
    if (!stream.ok())
        return std::move(stream).error();
    ComponentHasher hasher(l.manifest.components);
    constexpr qsizetype kChunk = 2 * 1024 * 1024;
    for (qsizetype at = 0; at < l.spans.os.size; at += kChunk) {
        auto part = (*stream)->update(
            bytes.sliced(l.spans.os.offset + at, std::min(kChunk, l.spans.os.size - at)));
        if (!part.ok())
            return std::move(part).error();
        hasher.feed(*part);
    }
    auto tail = (*stream)->finish();
    if (!tail.ok()) {
        if (tail.error().code() != ErrorCode::VerificationFailed)
            return std::move(tail).error();
        // The HSM releases nothing before the tag verifies, so the change cannot be localised
        // further than "the OS IV, ciphertext or tag".
        return failed(PackageRegion::OsTag,
                      QStringLiteral("the OS does not authenticate with the image key in the "
                                     "HSM: the IV, an OS component or the tag was changed, or "
                                     "the package was sealed with another image key"));
    }
    hasher.feed(*tail);
    const std::vector<QByteArray> measured = hasher.finish();
    for (std::size_t i = 0; i < measured.size(); ++i)
        if (measured[i] != l.manifest.components[i].sha256)
            return osFailure(l, measured, true);
    return success();
}

} // namespace

StationVerifyReport verifyPackage(QByteArrayView bytes, const StationVerifyOptions& o) {
    StationVerifyReport r;
    auto record = [&](const QString& region, const QString& result, const QString& reason = {}) {
        r.checks.push_back({region, result, reason});
    };
    auto fail = [&](const Error& e) {
        record(regionName(regionOf(e)), QStringLiteral("FAIL"), e.message());
        r.failure = e;
        return r;
    };
    auto layout = parseLayout(bytes);
    if (!layout.ok())
        return fail(layout.error());
    r.layout = *layout;
    const PackageLayout& l = *layout;
    record(QStringLiteral("structure"), pass(),
           QStringLiteral("header, manifest, lengths, manifest digests"));

    std::optional<Keystore> ks;
    if (!o.keystore.isEmpty()) {
        auto verified = verifyKeystore(o.keystore, o.vendorKey);
        if (!verified.ok())
            return fail(failed(PackageRegion::Keystore, verified.error().message()));
        ks = *verified;
        record(QStringLiteral("keystore"), pass());
    }
    if (ks)
        if (auto e = checkAgainstKeystore(bytes, l, ks->content); !e.ok())
            return fail(e.error());
    const QString keyed = ks ? pass() : notChecked();
    record(QStringLiteral("customer"), keyed);
    record(QStringLiteral("environment"), keyed);
    record(QStringLiteral("app-signature"), keyed);
    record(
        QStringLiteral("manifest-signature"), l.manifestSigned ? keyed : QStringLiteral("absent"),
        l.manifestSigned ? QString() : QStringLiteral("production: the OS tag binds the manifest"));
    const QByteArrayView app = bytes.sliced(l.spans.application.offset, l.spans.application.size);
    if (sha256(app) != l.manifest.app.appSha256)
        return fail(failed(PackageRegion::Application,
                           QStringLiteral("application image does not match the SHA-256 in the "
                                          "application manifest")));
    record(QStringLiteral("application"), pass());

    // DESIGN §1: a development key in a production package (or the reverse) is an error.
    if (!o.developmentKeys.isEmpty()) {
        bool devSigner = false;
        for (const QByteArray& k : o.developmentKeys)
            devSigner = devSigner || keyIdOf(k) == l.manifest.app.signerKeyId;
        const bool prod = l.environment == Environment::Production;
        if (prod == devSigner)
            return fail(failed(PackageRegion::Environment,
                               prod ? QStringLiteral("production package with an application "
                                                     "signed by a common development key")
                                    : QStringLiteral("development package with an application "
                                                     "not signed by a common development key")));
        record(QStringLiteral("environment-keys"), pass());
    } else {
        record(QStringLiteral("environment-keys"), notChecked(),
               QStringLiteral("no development public keys known"));
    }

    if (o.opener) {
        // An HSM failure (not a verdict) keeps its own code: the caller maps it to exit 3.
        if (auto e = checkOs(bytes, l, *o.opener); !e.ok())
            return fail(e.error());
        record(QStringLiteral("os"), pass(),
               QStringLiteral("tag and every component hash, through the HSM"));
    } else {
        record(QStringLiteral("os"), notChecked(), QStringLiteral("no HSM"));
    }
    return r;
}

} // namespace keyline::firmware
