// The signed-app file and the station's verifier (`keyline package verify` without a device).

#include "package_fixture.h"

using namespace keyline;
using namespace keyline::firmware;
using keyline::test::PackageWorld;
using keyline::test::SoftSigner;

namespace {

// The HSM's side of verify, in OpenSSL: nothing is released before the tag verifies.
class SoftOpenStream final : public OsOpenStream {
public:
    SoftOpenStream(QByteArray key, QByteArray iv, QByteArray aad, QByteArray tag)
        : m_key(std::move(key))
        , m_iv(std::move(iv))
        , m_aad(std::move(aad))
        , m_tag(std::move(tag)) {}
    Result<QByteArray> update(QByteArrayView c) override {
        m_ct.append(c);
        return QByteArray();
    }
    Result<QByteArray> finish() override {
        OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> ctx(EVP_CIPHER_CTX_new());
        auto u = [](const QByteArray& b) {
            return reinterpret_cast<const unsigned char*>(b.constData());
        };
        QByteArray out(m_ct.size(), '\0');
        int len = 0;
        EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(m_key), u(m_iv));
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(m_aad), int(m_aad.size()));
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, u(m_ct),
                          int(m_ct.size()));
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, m_tag.data());
        unsigned char rest[16];
        if (EVP_DecryptFinal_ex(ctx.get(), rest, &len) != 1)
            return Error(ErrorCode::VerificationFailed, QStringLiteral("AES-GCM tag"));
        return out;
    }

private:
    QByteArray m_key, m_iv, m_aad, m_tag, m_ct;
};

class SoftOpener final : public OsOpener {
public:
    explicit SoftOpener(QByteArray key)
        : m_key(std::move(key)) {}
    Result<std::unique_ptr<OsOpenStream>> begin(const QByteArray& iv, const QByteArray& aad,
                                                const QByteArray& tag) override {
        return std::unique_ptr<OsOpenStream>(new SoftOpenStream(m_key, iv, aad, tag));
    }

private:
    QByteArray m_key;
};

QString resultOf(const StationVerifyReport& r, const QString& region) {
    for (const auto& c : r.checks)
        if (c.region == region)
            return c.result;
    return QStringLiteral("(absent)");
}

} // namespace

TEST_CASE("signed app: built, parsed, verified against the right key only", "[package]") {
    PackageWorld w;
    const QByteArray image = test::pattern(3000, 'i');
    auto bytes = buildSignedApp(w.release(9), image, w.app);
    REQUIRE(bytes.ok());
    CHECK(bytes->startsWith("KLSA"));
    auto app = verifySignedApp(*bytes, w.app.point());
    REQUIRE(app.ok());
    CHECK(app->image == image);
    CHECK(app->manifest.counter == 9);
    CHECK(app->manifest.appSize == 3000);
    CHECK(app->manifest.signerKeyId.size() == 32);
    CHECK(parseAppManifest(app->manifestBytes).ok());

    SoftSigner other;
    auto wrong = verifySignedApp(*bytes, other.publicKeyDer());
    REQUIRE_FALSE(wrong.ok());
    CHECK(regionOf(wrong.error()) == PackageRegion::AppSignature);
    QByteArray changed = *bytes;
    changed[changed.size() - 1] = char(changed.back() ^ 1);
    CHECK(regionOf(verifySignedApp(changed, w.app.point()).error()) == PackageRegion::Application);
    CHECK(regionOf(parseSignedApp(bytes->left(bytes->size() - 1)).error()) ==
          PackageRegion::Application);
    CHECK(regionOf(parseSignedApp(*bytes + "x").error()) == PackageRegion::Length);

    // The writer refuses what the format would refuse.
    auto release = w.release();
    release.hardware = {QStringLiteral("b"), QStringLiteral("a")};
    CHECK(buildSignedApp(release, image, w.app).error().code() == ErrorCode::InvalidArgument);
    release = w.release();
    release.name = QStringLiteral("has space");
    CHECK(buildSignedApp(release, image, w.app).error().code() == ErrorCode::InvalidArgument);
    CHECK(buildSignedApp(w.release(), QByteArray(), w.app).error().code() ==
          ErrorCode::InvalidArgument);
}

TEST_CASE("station verify: per-region report, keystore optional, OS through the opener",
          "[package]") {
    PackageWorld w;
    const QByteArray p = w.package();
    StationVerifyOptions o;
    auto r = verifyPackage(p, o);
    CHECK(r.pass());
    CHECK(resultOf(r, QStringLiteral("structure")) == QStringLiteral("PASS"));
    CHECK(resultOf(r, QStringLiteral("app-signature")) == QStringLiteral("not-checked"));
    CHECK(resultOf(r, QStringLiteral("os")) == QStringLiteral("not-checked"));

    o.keystore = w.keystore();
    o.vendorKey = w.vendor.publicKeyDer();
    SoftOpener opener(w.imageKey);
    o.opener = &opener;
    o.developmentKeys = {w.app.point()}; // in this world the app key plays the dev key
    r = verifyPackage(p, o);
    INFO((r.failure ? r.failure->toString() : QString()).toStdString());
    CHECK(r.pass());
    for (const char* region : {"keystore", "app-signature", "manifest-signature", "application",
                               "environment-keys", "os"})
        CHECK(resultOf(r, QLatin1String(region)) == QStringLiteral("PASS"));

    const auto s = parsePackage(p)->spans;
    QByteArray tampered = p;
    tampered[s.components[1].offset + 5] = char(tampered[s.components[1].offset + 5] ^ 4);
    r = verifyPackage(tampered, o);
    REQUIRE_FALSE(r.pass());
    CHECK(regionOf(*r.failure) == PackageRegion::OsTag);
    CHECK(resultOf(r, QStringLiteral("os-tag")) == QStringLiteral("FAIL"));

    tampered = p;
    tampered[s.appSignature.offset] = char(tampered[s.appSignature.offset] ^ 4);
    r = verifyPackage(tampered, o);
    REQUIRE_FALSE(r.pass());
    CHECK(regionOf(*r.failure) == PackageRegion::AppSignature);

    // DESIGN §1: a production package whose application a development key signed.
    PackageWorld prod;
    prod.env = Environment::Production;
    o.keystore = prod.keystore();
    o.vendorKey = prod.vendor.publicKeyDer();
    o.developmentKeys = {prod.app.publicKeyDer()};
    o.opener = nullptr;
    r = verifyPackage(prod.package(), o);
    REQUIRE_FALSE(r.pass());
    CHECK(regionOf(*r.failure) == PackageRegion::Environment);
    o.developmentKeys = {w.app.point()};
    CHECK(verifyPackage(prod.package(), o).pass());

    // Another keystore's vendor.
    o.vendorKey = w.vendor.publicKeyDer();
    r = verifyPackage(prod.package(), o);
    REQUIRE_FALSE(r.pass());
    CHECK(regionOf(*r.failure) == PackageRegion::Keystore);
}
