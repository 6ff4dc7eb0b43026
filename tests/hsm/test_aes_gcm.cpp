// AES-256-GCM through the module's function list (hsm/aes_gcm.h) on a SoftHSM2 token in a temp
// dir: round trips with the image key, tamper detection, chunking, and a known-answer test
// against OpenSSL with a TEST-ONLY session key whose value the test knows (the image key is
// never readable, so it cannot be compared directly).

#include "hsm/aes_gcm.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm_fixture.h"
#include "image_key_helpers.h"

#include <QElapsedTimer>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::DevTokenFixture;

namespace {

QByteArray pattern(qsizetype n) {
    QByteArray b(n, '\0');
    for (qsizetype i = 0; i < n; ++i)
        b[i] = char((i * 131 + 7) & 0xff);
    return b;
}

KeyUri imageKeyUri(const Pkcs11Hsm& hsm) {
    return hsm.uriFor(labels::imageKey, QStringLiteral("secret"));
}

// The test-only key: a session object with a known CKA_VALUE, never on the token.
CK_OBJECT_HANDLE createTestKey(SessionLease& s, const QByteArray& value) {
    Template t;
    t.add(CKA_CLASS, CK_ULONG(CKO_SECRET_KEY))
        .add(CKA_KEY_TYPE, CK_ULONG(CKK_AES))
        .add(CKA_TOKEN, false)
        .add(CKA_PRIVATE, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, false)
        .add(CKA_ENCRYPT, true)
        .add(CKA_DECRYPT, true)
        .addText(CKA_LABEL, QStringLiteral("test-only-gcm-kat"))
        .add(CKA_VALUE, value);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    REQUIRE(s.fn()->C_CreateObject(s.handle(), t.data(), t.size(), &h) == CKR_OK);
    return h;
}

} // namespace

TEST_CASE("AES-GCM: image key round trip, random IVs, tampering is detected", "[hsm][gcm]") {
    DevTokenFixture f;
    auto hsm = f.open();
    const KeyUri key = imageKeyUri(*hsm);
    const QByteArray plain = pattern(100000);
    const QByteArray aad = QByteArrayLiteral("keyline-image v1 board=wb-3");

    auto sealed = hsm->gcmEncrypt(key, plain, aad);
    if (!sealed.ok())
        FAIL(sealed.error().toString().toStdString());
    CHECK(sealed->iv.size() == 12);
    CHECK(sealed->tag.size() == 16);
    CHECK(sealed->ciphertext.size() == plain.size());
    CHECK(sealed->ciphertext != plain);
    auto back = hsm->gcmDecrypt(key, *sealed, aad);
    if (!back.ok())
        FAIL(back.error().toString().toStdString());
    CHECK(*back == plain);

    // A fresh IV every time: the same plaintext never gives the same ciphertext.
    auto again = hsm->gcmEncrypt(key, plain, aad);
    REQUIRE(again.ok());
    CHECK(again->iv != sealed->iv);
    CHECK(again->ciphertext != sealed->ciphertext);

    auto expectRejected = [&](GcmSealed s, const QByteArray& a) {
        auto r = hsm->gcmDecrypt(key, s, a);
        REQUIRE_FALSE(r.ok());
        INFO(r.error().toString().toStdString());
        CHECK(r.error().code() == ErrorCode::VerificationFailed);
        CHECK(r.error().toString().contains(QStringLiteral("authentication failed")));
    };
    GcmSealed bad = *sealed;
    bad.ciphertext[5000] = char(bad.ciphertext[5000] ^ 0x01);
    expectRejected(bad, aad);
    bad = *sealed;
    bad.tag[15] = char(bad.tag[15] ^ 0x80);
    expectRejected(bad, aad);
    bad = *sealed;
    bad.iv[0] = char(bad.iv[0] ^ 0x01);
    expectRejected(bad, aad);
    QByteArray badAad = aad;
    badAad[0] = char(badAad[0] ^ 0x20);
    expectRejected(*sealed, badAad);
    bad = *sealed;
    bad.tag.chop(4);
    CHECK(hsm->gcmDecrypt(key, bad, aad).error().code() == ErrorCode::BadInput);

    // The pool is usable after every failure (failed operations do not linger on sessions).
    auto after = hsm->gcmDecrypt(key, *sealed, aad);
    REQUIRE(after.ok());
    CHECK(*after == plain);
}

TEST_CASE("AES-GCM: chunked updates of any size, abandoned operations", "[hsm][gcm]") {
    DevTokenFixture f;
    auto hsm = f.open();
    const KeyUri key = imageKeyUri(*hsm);
    const QByteArray plain = pattern(3 * 4096 + 77);
    const QByteArray aad; // no associated data is allowed too

    auto enc = hsm->beginGcmEncrypt(key, aad);
    REQUIRE(enc.ok());
    QByteArray ct;
    qsizetype pos = 0;
    for (qsizetype n : {qsizetype(1), qsizetype(15), qsizetype(17), qsizetype(4096 + 3)}) {
        auto part = (*enc)->update(QByteArrayView(plain).sliced(pos, n));
        REQUIRE(part.ok());
        ct += *part;
        pos += n;
    }
    auto part = (*enc)->update(QByteArrayView(plain).sliced(pos));
    REQUIRE(part.ok());
    ct += *part;
    auto tail = (*enc)->finish();
    REQUIRE(tail.ok());
    ct += tail->ciphertext;
    CHECK(ct.size() == plain.size());
    // Once finished, the operation is over.
    CHECK_FALSE((*enc)->update(QByteArrayLiteral("x")).ok());

    auto back = hsm->gcmDecrypt(key, {(*enc)->iv(), ct, tail->tag}, aad);
    REQUIRE(back.ok());
    CHECK(*back == plain);

    // An operation dropped half way leaves nothing behind that breaks the next ones.
    for (int i = 0; i < 10; ++i) {
        auto dropped = hsm->beginGcmEncrypt(key, aad);
        REQUIRE(dropped.ok());
        REQUIRE((*dropped)->update(plain).ok());
    }
    auto sealed = hsm->gcmEncrypt(key, plain, aad);
    REQUIRE(sealed.ok());
    CHECK(hsm->gcmDecrypt(key, *sealed, aad).valueOr({}) == plain);
}

TEST_CASE("AES-GCM: known answer against OpenSSL with a test-only key", "[hsm][gcm]") {
    DevTokenFixture f;
    auto hsm = f.open();
    const QByteArray keyValue = QByteArray::fromHex(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"); // TEST ONLY
    const QByteArray iv = QByteArray::fromHex("cafebabefacedbaddecaf888");
    const QByteArray aad = QByteArrayLiteral("associated data of the known-answer test");
    const QByteArray plain = pattern(1000);

    auto owner = hsm->pool().acquire();
    REQUIRE(owner.ok());
    ObjectGuard testKey(*owner, createTestKey(*owner, keyValue));

    // This CK_GCM_PARAMS layout ({pIv, ulIvLen, ulIvBits, pAAD, ulAADLen, ulTagBits}) is right
    // exactly when the HSM's output equals OpenSSL's for the same key, IV and AAD.
    const test::OpensslGcm expected = test::opensslGcmEncrypt(keyValue, iv, aad, plain);
    auto lease = hsm->pool().acquire();
    REQUIRE(lease.ok());
    auto enc = startGcmEncryption(std::move(*lease), testKey.get(), iv, aad);
    if (!enc.ok())
        FAIL(enc.error().toString().toStdString());
    auto ct = (*enc)->update(plain);
    REQUIRE(ct.ok());
    auto tail = (*enc)->finish();
    REQUIRE(tail.ok());
    CHECK((*ct + tail->ciphertext).toHex() == expected.ciphertext.toHex());
    CHECK(tail->tag.toHex() == expected.tag.toHex());

    // And the HSM opens what OpenSSL sealed.
    auto lease2 = hsm->pool().acquire();
    REQUIRE(lease2.ok());
    auto dec = startGcmDecryption(std::move(*lease2), testKey.get(), iv, aad, expected.tag);
    REQUIRE(dec.ok());
    auto p1 = (*dec)->update(expected.ciphertext);
    REQUIRE(p1.ok());
    auto p2 = (*dec)->finish();
    REQUIRE(p2.ok());
    CHECK(*p1 + *p2 == plain);
}

TEST_CASE("AES-GCM: a key that may not encrypt gets a clear error", "[hsm][gcm]") {
    DevTokenFixture f;
    auto hsm = f.open();
    auto r = hsm->beginGcmEncrypt(
        hsm->uriFor(QStringLiteral("no-such-key"), QStringLiteral("secret")), {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::EnvironmentNotReady);
    auto iv =
        hsm->beginGcmDecrypt(imageKeyUri(*hsm), QByteArray(8, '\0'), {}, QByteArray(16, '\0'));
    REQUIRE_FALSE(iv.ok());
    CHECK(iv.error().code() == ErrorCode::InvalidArgument);
}

TEST_CASE("AES-GCM: a 64 MiB image round trip", "[hsm][gcm][64mib]") {
    DevTokenFixture f;
    auto hsm = f.open();
    const KeyUri key = imageKeyUri(*hsm);
    const QByteArray plain = pattern(64 * 1024 * 1024);
    const QByteArray aad = QByteArrayLiteral("os-image");
    QElapsedTimer timer;
    timer.start();
    auto sealed = hsm->gcmEncrypt(key, plain, aad);
    if (!sealed.ok())
        FAIL(sealed.error().toString().toStdString());
    const qint64 encMs = timer.restart();
    REQUIRE(sealed->ciphertext.size() == plain.size());
    auto back = hsm->gcmDecrypt(key, *sealed, aad);
    if (!back.ok())
        FAIL(back.error().toString().toStdString());
    const qint64 decMs = timer.elapsed();
    WARN("64 MiB AES-GCM in SoftHSM2: encrypt " << encMs << " ms, decrypt " << decMs << " ms");
    CHECK(*back == plain);
}
