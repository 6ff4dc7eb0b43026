// The image-key ceremony in the library (hsm/ceremony_image_key.h) on an empty SoftHSM2 token;
// OpenSSL plays the product's key-management HSM that wraps a known, TEST-ONLY image key.

#include "csr_maker.h"
#include "hsm/ceremony_image_key.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/x509_sign.h"
#include "hsm_fixture.h"
#include "image_key_helpers.h"

#include <openssl/core_names.h>

using namespace keyline;
using namespace keyline::hsm;

namespace {

struct EmptyTokenFixture {
    QTemporaryDir dir;
    QString conf;

    EmptyTokenFixture() {
        REQUIRE(dir.isValid());
        auto c = writeSoftHsmConfig(dir.path());
        REQUIRE(c.ok());
        conf = *c;
        qputenv("SOFTHSM2_CONF", QFile::encodeName(conf));
        auto made = ensureToken(test::kSoftHsmModule, QStringLiteral("line-7"),
                                QByteArrayLiteral("so-pin-for-tests"), test::kTestPin);
        if (!made.ok())
            FAIL(made.error().toString().toStdString());
    }

    std::unique_ptr<Pkcs11Hsm> open() const {
        HsmConfig c;
        c.modulePath = test::kSoftHsmModule;
        c.tokenLabel = QStringLiteral("line-7");
        c.pin = PinSource::fixed(test::kTestPin);
        c.softhsmConfig = conf;
        auto h = Pkcs11Hsm::open(c);
        if (!h.ok())
            FAIL(h.error().toString().toStdString());
        return std::move(h).value();
    }
};

std::optional<CK_OBJECT_HANDLE> lookUp(Pkcs11Hsm& hsm, CK_OBJECT_CLASS cls, const QString& label) {
    auto s = hsm.pool().acquire();
    REQUIRE(s.ok());
    auto found = findOne(*s, {cls, label, {}});
    REQUIRE(found.ok());
    return *found;
}

} // namespace

TEST_CASE("image-key ceremony: transport key, OAEP import, KCV, attributes", "[hsm][ceremony]") {
    EmptyTokenFixture f;
    auto hsm = f.open();

    auto transport = makeTransportKey(*hsm);
    if (!transport.ok())
        FAIL(transport.error().toString().toStdString());
    CHECK(transport->created);
    {
        auto s = hsm->pool().acquire();
        REQUIRE(s.ok());
        auto priv = findOne(*s, {CKO_PRIVATE_KEY, labels::transportKey, {}});
        REQUIRE(priv.ok());
        REQUIRE(priv->has_value());
        CHECK(getBool(*s, **priv, CKA_SENSITIVE).valueOr(false));
        CHECK_FALSE(getBool(*s, **priv, CKA_EXTRACTABLE).valueOr(true));
        CHECK(getBool(*s, **priv, CKA_UNWRAP).valueOr(false));
        CHECK_FALSE(getBool(*s, **priv, CKA_DECRYPT).valueOr(true));
        CHECK_FALSE(getBool(*s, **priv, CKA_SIGN).valueOr(true));
    }
    // Asked again, the same pair (a lost PEM can be written again).
    auto again = makeTransportKey(*hsm);
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->publicKeySpki == transport->publicKeySpki);

    const QByteArray pem = toPem(transport->publicKeySpki, "PUBLIC KEY");
    const QByteArray known = test::knownImageKey();

    // SHA-256 OAEP is the rule; SoftHSM2 2.6 refuses it (only SHA-1 OAEP), clearly, and
    // creates nothing. A module that does it must import the right key.
    auto viaSha256 = importImageKey(*hsm, test::oaepWrap(pem, known, true), OaepHash::Sha256, {});
    if (!viaSha256.ok()) {
        INFO(viaSha256.error().toString().toStdString());
        CHECK(viaSha256.error().code() == ErrorCode::EnvironmentNotReady);
        CHECK(viaSha256.error().toString().contains(QStringLiteral("--oaep sha1")));
        CHECK_FALSE(lookUp(*hsm, CKO_SECRET_KEY, labels::imageKey).has_value());
    }

    // A wrong expected KCV: refused, and the imported object is gone again.
    if (!viaSha256.ok()) {
        const QByteArray wrapped = test::oaepWrap(pem, known, false);
        auto wrongKcv =
            importImageKey(*hsm, wrapped, OaepHash::Sha1, QByteArray::fromHex("000000"));
        REQUIRE_FALSE(wrongKcv.ok());
        CHECK(wrongKcv.error().code() == ErrorCode::VerificationFailed);
        CHECK_FALSE(lookUp(*hsm, CKO_SECRET_KEY, labels::imageKey).has_value());
        CHECK(lookUp(*hsm, CKO_PRIVATE_KEY, labels::transportKey).has_value());

        auto ok = importImageKey(*hsm, wrapped, OaepHash::Sha1, test::opensslKcv(known));
        if (!ok.ok())
            FAIL(ok.error().toString().toStdString());
        CHECK(ok->kcv == test::opensslKcv(known));
        CHECK(ok->transportKeyDestroyed);
    } else {
        CHECK(viaSha256->kcv == test::opensslKcv(known));
    }
    CHECK_FALSE(lookUp(*hsm, CKO_PRIVATE_KEY, labels::transportKey).has_value());
    CHECK_FALSE(lookUp(*hsm, CKO_PUBLIC_KEY, labels::transportKey).has_value());

    // The inventory's attributes; the value cannot be read.
    {
        auto s = hsm->pool().acquire();
        REQUIRE(s.ok());
        auto key = findOne(*s, {CKO_SECRET_KEY, labels::imageKey, {}});
        REQUIRE(key.ok());
        REQUIRE(key->has_value());
        const CK_OBJECT_HANDLE h = **key;
        CHECK(getBool(*s, h, CKA_TOKEN).valueOr(false));
        CHECK(getBool(*s, h, CKA_PRIVATE).valueOr(false));
        CHECK(getBool(*s, h, CKA_SENSITIVE).valueOr(false));
        CHECK(getBool(*s, h, CKA_EXTRACTABLE).valueOr(false));
        CHECK(getBool(*s, h, CKA_ENCRYPT).valueOr(false));
        CHECK(getBool(*s, h, CKA_DECRYPT).valueOr(false));
        CHECK_FALSE(getBool(*s, h, CKA_WRAP).valueOr(true));
        CHECK_FALSE(getBool(*s, h, CKA_UNWRAP).valueOr(true));
        CHECK_FALSE(getBool(*s, h, CKA_SIGN).valueOr(true));
        CHECK_FALSE(getBool(*s, h, CKA_DERIVE).valueOr(true));
        CHECK(secretKeyLength(*s, h).valueOr(0) == 32);
        CHECK(getAttribute(*s, h, CKA_ID).valueOr({}) == labels::imageKey.toUtf8());
        auto value = getAttribute(*s, h, CKA_VALUE);
        REQUIRE_FALSE(value.ok());
        CHECK(value.error().detail() == int(CKR_ATTRIBUTE_SENSITIVE));
    }

    // The imported key is the known one: what the HSM seals, OpenSSL (the device) opens.
    const QByteArray plain = QByteArrayLiteral("an OS image, in short");
    const QByteArray aad = QByteArrayLiteral("hdr");
    auto sealed =
        hsm->gcmEncrypt(hsm->uriFor(labels::imageKey, QStringLiteral("secret")), plain, aad);
    REQUIRE(sealed.ok());
    const test::OpensslGcm byDevice = test::opensslGcmEncrypt(known, sealed->iv, aad, plain);
    CHECK(byDevice.ciphertext == sealed->ciphertext);
    CHECK(byDevice.tag == sealed->tag);

    // The burn works with an imported key (no CKA_CHECK_VALUE on SoftHSM2 2.6: computed).
    const KeyUri imageUri = hsm->uriFor(labels::imageKey, QStringLiteral("secret"));
    CHECK(hsm->keyCheckValue(imageUri).valueOr({}) == test::opensslKcv(known));
    auto device = test::makeEcKey();
    unsigned char point[65];
    size_t pointLen = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(device.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                            sizeof point, &pointLen) == 1);
    auto burn = hsm->wrapImageKeyForDevice(
        imageUri, QByteArray(reinterpret_cast<const char*>(point), int(pointLen)));
    if (!burn.ok())
        FAIL(burn.error().toString().toStdString());
    CHECK(burn->expectedKcv == test::opensslKcv(known));
    CHECK(burn->wrappedKey.size() == 40);

    // Once there, never replaced; and no new transport key for it either.
    auto second = importImageKey(*hsm, QByteArray(384, 'x'), OaepHash::Sha1, {});
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code() == ErrorCode::Refused);
    auto moreTransport = makeTransportKey(*hsm);
    REQUIRE_FALSE(moreTransport.ok());
    CHECK(moreTransport.error().code() == ErrorCode::Refused);
}

TEST_CASE("image-key ceremony: bad wrapped data and bad KCV text", "[hsm][ceremony]") {
    EmptyTokenFixture f;
    auto hsm = f.open();
    // No transport key yet.
    auto early = importImageKey(*hsm, QByteArray(384, '\x01'), OaepHash::Sha1, {});
    REQUIRE_FALSE(early.ok());
    CHECK(early.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(early.error().toString().contains(QStringLiteral("transport-key")));

    auto transport = makeTransportKey(*hsm);
    REQUIRE(transport.ok());
    auto shortBlob = importImageKey(*hsm, QByteArrayLiteral("garbage"), OaepHash::Sha1, {});
    REQUIRE_FALSE(shortBlob.ok());
    CHECK(shortBlob.error().code() == ErrorCode::BadInput);
    CHECK(shortBlob.error().toString().contains(QStringLiteral("384 bytes")));
    auto noise = importImageKey(*hsm, QByteArray(384, '\x5a'), OaepHash::Sha1, {});
    REQUIRE_FALSE(noise.ok());
    INFO(noise.error().toString().toStdString());
    CHECK(noise.error().code() == ErrorCode::BadInput);
    CHECK_FALSE(lookUp(*hsm, CKO_SECRET_KEY, labels::imageKey).has_value());

    // A 16-byte key is not an image key: refused, nothing kept.
    const QByteArray pem = toPem(transport->publicKeySpki, "PUBLIC KEY");
    auto aes128 = importImageKey(*hsm, test::oaepWrap(pem, QByteArray(16, '\x11'), false),
                                 OaepHash::Sha1, {});
    REQUIRE_FALSE(aes128.ok());
    CHECK(aes128.error().code() == ErrorCode::BadInput);
    CHECK_FALSE(lookUp(*hsm, CKO_SECRET_KEY, labels::imageKey).has_value());

    CHECK(parseKcv(QStringLiteral("1A:2b:3c")).valueOr({}) == QByteArray::fromHex("1a2b3c"));
    CHECK_FALSE(parseKcv(QStringLiteral("1a2b")).ok());
    CHECK_FALSE(parseKcv(QStringLiteral("1a2b3g")).ok());
    CHECK_FALSE(parseKcv(QStringLiteral("1a2b3c4d")).ok());
    CHECK(parseOaepHash(QStringLiteral("sha256")).ok());
    CHECK_FALSE(parseOaepHash(QStringLiteral("md5")).ok());
}
