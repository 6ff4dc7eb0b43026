// The station side of the image-key burn against a device stand-in made with OpenSSL: the device
// derives the same KEK, unwraps (RFC 5649) and its key check value matches the HSM's.

#include "csr_maker.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm_fixture.h"
#include "image_key_helpers.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::DevTokenFixture;

namespace {

QByteArray pointOf(EVP_PKEY* key) {
    unsigned char buf[65];
    size_t len = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) ==
            1);
    return QByteArray(reinterpret_cast<const char*>(buf), int(len));
}

test::PkeyPtr keyFromPoint(const QByteArray& point) {
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
    char group[] = "prime256v1";
    QByteArray pub = point;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                                             std::size_t(pub.size())),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY* key = nullptr;
    REQUIRE(EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) == 1);
    return test::PkeyPtr(key);
}

// What the device does: ECDH with the station's point, then RFC 5649 unwrap.
QByteArray deviceUnwrap(EVP_PKEY* deviceKey, const ImageKeyBurn& burn) {
    auto station = keyFromPoint(burn.stationPublicKey);
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> dctx(EVP_PKEY_CTX_new(deviceKey, nullptr));
    REQUIRE(EVP_PKEY_derive_init(dctx.get()) == 1);
    REQUIRE(EVP_PKEY_derive_set_peer(dctx.get(), station.get()) == 1);
    unsigned char z[32];
    size_t zLen = sizeof z;
    REQUIRE(EVP_PKEY_derive(dctx.get(), z, &zLen) == 1);
    REQUIRE(zLen == 32);

    OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> c(EVP_CIPHER_CTX_new());
    EVP_CIPHER_CTX_set_flags(c.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    REQUIRE(EVP_DecryptInit_ex(c.get(), EVP_aes_256_wrap_pad(), nullptr, z, nullptr) == 1);
    unsigned char out[64];
    int len = 0, fin = 0;
    if (EVP_DecryptUpdate(c.get(), out, &len,
                          reinterpret_cast<const unsigned char*>(burn.wrappedKey.constData()),
                          int(burn.wrappedKey.size())) != 1 ||
        EVP_DecryptFinal_ex(c.get(), out + len, &fin) != 1)
        return {};
    return QByteArray(reinterpret_cast<const char*>(out), len + fin);
}

std::size_t sessionObjectCount(Pkcs11Hsm& hsm) {
    auto s = hsm.pool().acquire();
    REQUIRE(s.ok());
    std::size_t n = 0;
    for (CK_OBJECT_CLASS cls : {CK_OBJECT_CLASS(CKO_PRIVATE_KEY), CK_OBJECT_CLASS(CKO_PUBLIC_KEY),
                                CK_OBJECT_CLASS(CKO_SECRET_KEY)}) {
        auto all = findObjects(*s, {cls, {}, {}});
        REQUIRE(all.ok());
        n += all->size();
    }
    return n;
}

} // namespace

TEST_CASE("the device unwraps the image key and its check value matches") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    const KeyUri imageKey = hsm->uriFor(labels::imageKey, QStringLiteral("secret"));
    auto hsmKcv = hsm->keyCheckValue(imageKey);
    REQUIRE(hsmKcv.ok());
    REQUIRE(hsmKcv->size() == 3);
    const std::size_t objectsBefore = sessionObjectCount(*hsm);

    QByteArray firstKey;
    QByteArray firstStation;
    for (int device = 0; device < 3; ++device) {
        auto devKey = test::makeEcKey();
        auto burn = hsm->wrapImageKeyForDevice(imageKey, pointOf(devKey.get()));
        if (!burn.ok())
            FAIL(burn.error().toString().toStdString());
        CHECK(burn->stationPublicKey.size() == 65);
        CHECK(burn->stationPublicKey.at(0) == 0x04);
        CHECK(burn->wrappedKey.size() == 40); // RFC 5649: 32-byte key + 8-byte integrity block
        CHECK(burn->expectedKcv == *hsmKcv);
        const QByteArray unwrapped = deviceUnwrap(devKey.get(), *burn);
        REQUIRE(unwrapped.size() == 32);
        CHECK(keyline::test::opensslKcv(unwrapped) == burn->expectedKcv);
        if (device == 0) {
            firstKey = unwrapped;
            firstStation = burn->stationPublicKey;
        } else {
            CHECK(unwrapped == firstKey);                  // same image key
            CHECK(burn->stationPublicKey != firstStation); // fresh station key each time
        }
        // Another device cannot unwrap what was wrapped for this one.
        auto eavesdropper = test::makeEcKey();
        CHECK(deviceUnwrap(eavesdropper.get(), *burn).isEmpty());
    }
    // Ephemeral keys and KEKs are destroyed, not left in the session.
    CHECK(sessionObjectCount(*hsm) == objectsBefore);
}

TEST_CASE("an image key replaced on the token is found again instead of its old handle") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    const KeyUri imageKey = hsm->uriFor(labels::imageKey, QStringLiteral("secret"));
    auto devKey = test::makeEcKey();
    auto first = hsm->wrapImageKeyForDevice(imageKey, pointOf(devKey.get()));
    REQUIRE(first.ok()); // the handle and check value are now kept
    {
        // A new key under the same label and ID, as a repeated image-key ceremony leaves it.
        auto s = hsm->pool().acquire();
        REQUIRE(s.ok());
        auto old = findOne(*s, {CKO_SECRET_KEY, labels::imageKey, {}});
        REQUIRE(old.ok());
        REQUIRE(old->has_value());
        auto id = getAttribute(*s, **old, CKA_ID);
        REQUIRE(id.ok());
        REQUIRE(s->fn()->C_DestroyObject(s->handle(), **old) == CKR_OK);
        REQUIRE(generateAes256(*s, labels::imageKey, *id, true).ok());
    }
    auto newKcv = hsm->keyCheckValue(imageKey);
    REQUIRE(newKcv.ok());
    REQUIRE(*newKcv != first->expectedKcv);
    auto second = hsm->wrapImageKeyForDevice(imageKey, pointOf(devKey.get()));
    if (!second.ok())
        FAIL(second.error().toString().toStdString());
    CHECK(second->expectedKcv == *newKcv);
    CHECK(keyline::test::opensslKcv(deviceUnwrap(devKey.get(), *second)) == *newKcv);
}

TEST_CASE("bad device points never reach the HSM") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    const KeyUri imageKey = hsm->uriFor(labels::imageKey, QStringLiteral("secret"));
    auto devKey = test::makeEcKey();
    const QByteArray good = pointOf(devKey.get());
    QByteArray offCurve = good;
    offCurve[40] = char(offCurve[40] ^ 0x01);
    QByteArray compressed = good.left(33);
    compressed[0] = 0x02;
    const QByteArray notAPoint = QByteArray(1, '\x04') + QByteArray(64, '\x01');
    for (const QByteArray& bad : {QByteArray(), offCurve, compressed, QByteArray(65, '\0'),
                                  notAPoint, good + QByteArray(1, '\0')}) {
        auto r = hsm->wrapImageKeyForDevice(imageKey, bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::BadInput);
    }
    auto missing = hsm->wrapImageKeyForDevice(
        hsm->uriFor(QStringLiteral("no-image-key"), QStringLiteral("secret")), good);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == ErrorCode::EnvironmentNotReady);
}

TEST_CASE("non-extractable keys cannot be wrapped out") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto s = hsm->pool().acquire();
    REQUIRE(s.ok());
    // A wrapping key the test controls: if the HSM let it wrap the CA key, the key would be out.
    Template t;
    t.add(CKA_CLASS, CK_ULONG(CKO_SECRET_KEY))
        .add(CKA_KEY_TYPE, CK_ULONG(CKK_AES))
        .add(CKA_VALUE_LEN, CK_ULONG(32))
        .add(CKA_TOKEN, false)
        .add(CKA_WRAP, true);
    CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE wrapping = CK_INVALID_HANDLE;
    REQUIRE(s->fn()->C_GenerateKey(s->handle(), &gen, t.data(), t.size(), &wrapping) == CKR_OK);
    ObjectGuard guard(*s, wrapping);
    for (const QString& label :
         {labels::deviceRootCa, labels::issuingCa, labels::keystoreSigning, labels::auditSigning}) {
        auto key = findOne(*s, {CKO_PRIVATE_KEY, label, {}});
        REQUIRE(key.ok());
        REQUIRE(key->has_value());
        CK_MECHANISM wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
        unsigned char out[512];
        CK_ULONG len = sizeof out;
        const CK_RV rv = s->fn()->C_WrapKey(s->handle(), &wrap, wrapping, **key, out, &len);
        INFO(label.toStdString() << ": " << ckrName(rv).toStdString());
        CHECK(rv == CKR_KEY_UNEXTRACTABLE);
    }
}
