#include "firmware_image/keystore.h"
#include "soft_signer.h"

#include <QRandomGenerator>
#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::firmware;
using keyline::test::SoftSigner;

namespace {

struct Keys {
    SoftSigner app, update, backend;
};

KeystoreContent contentFor(const Keys& k, Environment env = Environment::Development) {
    KeystoreContent c;
    c.customerId = QStringLiteral("acme-42");
    c.environment = env;
    c.serial = 7;
    // Deliberately out of order: the writer sorts, so one content has one encoding.
    c.entries = {{KeyPurpose::BackendE2e, KeyAlgorithm::EcdhP256, k.backend.point()},
                 {KeyPurpose::ApplicationSigning, KeyAlgorithm::EcdsaP256, k.app.point()},
                 {KeyPurpose::UpdateAuthorisation, KeyAlgorithm::EcdsaP256, k.update.point()}};
    return c;
}

} // namespace

TEST_CASE("keystore round trip") {
    Keys keys;
    SoftSigner vendor;
    auto built = buildKeystore(contentFor(keys), vendor);
    REQUIRE(built.ok());
    // Header as docs/keystore-format.md lays it out.
    CHECK(built->left(4) == QByteArray("KLKS"));
    CHECK(built->mid(4, 2) == QByteArray("\x00\x01", 2));
    CHECK(built->at(6) == 1);
    CHECK(built->mid(7, 2) == QByteArray("\x00\x07", 2));
    CHECK(built->mid(9, 7) == QByteArray("acme-42"));
    CHECK(built->mid(16, 8) == QByteArray("\x00\x00\x00\x00\x00\x00\x00\x07", 8));
    CHECK(built->at(24) == 3);

    auto ks = verifyKeystore(*built, vendor.publicKeyDer());
    REQUIRE(ks.ok());
    const QByteArray vendorPem = "-----BEGIN PUBLIC KEY-----\n" + vendor.publicKeyDer().toBase64() +
                                 "\n-----END PUBLIC KEY-----\n";
    CHECK(verifyKeystore(*built, vendorPem).ok());
    CHECK(ks->content.customerId == QStringLiteral("acme-42"));
    CHECK(ks->content.environment == Environment::Development);
    CHECK(ks->content.serial == 7);
    REQUIRE(ks->content.entries.size() == 3);
    CHECK(ks->content.entries[0].purpose == KeyPurpose::ApplicationSigning);
    CHECK(ks->content.entries[0].publicKey == keys.app.point());
    CHECK(ks->content.entries[1].purpose == KeyPurpose::UpdateAuthorisation);
    CHECK(ks->content.entries[2].purpose == KeyPurpose::BackendE2e);
    CHECK(ks->content.entries[2].algorithm == KeyAlgorithm::EcdhP256);
    CHECK(ks->signedBytes == built->left(ks->signedBytes.size()));
    CHECK(built->size() == ks->signedBytes.size() + 2 + ks->signature.size());
}

TEST_CASE("keystore verification refuses other keys and any change") {
    Keys keys;
    SoftSigner vendor, impostor;
    auto built = buildKeystore(contentFor(keys), vendor);
    REQUIRE(built.ok());

    auto other = verifyKeystore(*built, impostor.publicKeyDer());
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code() == ErrorCode::VerificationFailed);

    // A keystore signed by someone else who claims the vendor's key id.
    auto forged = parseKeystore(*built);
    REQUIRE(forged.ok());
    const QByteArray digest = [&] {
        QByteArray d(32, '\0');
        unsigned int len = 0;
        EVP_Digest(forged->signedBytes.constData(), std::size_t(forged->signedBytes.size()),
                   reinterpret_cast<unsigned char*>(d.data()), &len, EVP_sha256(), nullptr);
        return d;
    }();
    auto sig = impostor.signDigest(digest);
    REQUIRE(sig.ok());
    QByteArray spliced = forged->signedBytes;
    spliced.append(char(sig->size() >> 8)).append(char(sig->size() & 0xff)).append(*sig);
    auto r = verifyKeystore(spliced, vendor.publicKeyDer());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::VerificationFailed);
    CHECK(r.error().toString().contains(QStringLiteral("signature")));

    // Every single bit flip anywhere is caught (parse error or verification failure).
    for (qsizetype i = 0; i < built->size(); ++i) {
        QByteArray t = *built;
        t[i] = char(t[i] ^ 0x01);
        auto v = verifyKeystore(t, vendor.publicKeyDer());
        INFO("byte " << i);
        REQUIRE_FALSE(v.ok());
        CHECK((v.error().code() == ErrorCode::BadInput ||
               v.error().code() == ErrorCode::VerificationFailed));
    }
}

TEST_CASE("malformed keystores are refused by field, never crash") {
    Keys keys;
    SoftSigner vendor;
    auto built = buildKeystore(contentFor(keys), vendor);
    REQUIRE(built.ok());

    for (qsizetype n = 0; n < built->size(); ++n) {
        auto r = parseKeystore(built->left(n));
        INFO("length " << n);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::BadInput);
    }
    auto trailing = parseKeystore(*built + QByteArray(1, '\0'));
    REQUIRE_FALSE(trailing.ok());
    CHECK(trailing.error().toString().contains(QStringLiteral("'end'")));

    auto field = [&](qsizetype at, char value, const char* expected) {
        QByteArray t = *built;
        t[at] = value;
        auto r = parseKeystore(t);
        REQUIRE_FALSE(r.ok());
        INFO(r.error().toString().toStdString());
        CHECK(r.error().toString().contains(QString::fromLatin1(expected)));
    };
    field(0, 'X', "'magic'");
    field(5, 2, "'version'");
    field(6, 3, "'environment'");
    field(8, char(0xff), "'customer_id'"); // claims 255 bytes
    field(9, ' ', "'customer_id'");        // space is not allowed
    field(24, 9, "'entry_count'");         // 9 > 8
    field(24, 0, "'entry_count'");
    field(25, 2, "increasing purpose order"); // app-signing slot says update: repeated purpose
    field(26, 2, "'entries'");                // app-signing key declared ECDH
    field(27, char(0xff), "'entry[0]'");      // key length past the end

    QByteArray huge(int(kMaxKeystoreBytes + 1), 'K');
    CHECK(parseKeystore(huge).error().toString().contains(QStringLiteral("'size'")));

    // Random garbage and random mutations: no crash, no success.
    auto* rng = QRandomGenerator::global();
    for (int i = 0; i < 2000; ++i) {
        QByteArray t = *built;
        const int edits = 1 + int(rng->bounded(8));
        for (int e = 0; e < edits; ++e)
            t[rng->bounded(int(t.size()))] = char(rng->bounded(256));
        if (rng->bounded(4) == 0)
            t.truncate(rng->bounded(int(t.size())));
        auto v = verifyKeystore(t, vendor.publicKeyDer());
        if (t != *built)
            CHECK_FALSE(v.ok());
    }
}

TEST_CASE("keystore build refuses bad content") {
    Keys keys;
    SoftSigner vendor;
    auto refused = [&](KeystoreContent c) {
        auto r = buildKeystore(c, vendor);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::InvalidArgument);
    };
    KeystoreContent c = contentFor(keys);
    c.entries.pop_back();
    refused(c);
    c = contentFor(keys);
    c.entries[1].purpose = KeyPurpose::BackendE2e;
    refused(c);
    c = contentFor(keys);
    c.entries[1].algorithm = KeyAlgorithm::EcdhP256;
    refused(c);
    c = contentFor(keys);
    c.entries[0].publicKey[10] = char(c.entries[0].publicKey[10] ^ 0x40); // off the curve
    refused(c);
    c = contentFor(keys);
    c.customerId = QStringLiteral("acme 42");
    refused(c);
    c = contentFor(keys);
    c.serial = 0;
    refused(c);
}

TEST_CASE("a P-256 key becomes its uncompressed point and a bad point is refused") {
    SoftSigner key;
    const QByteArray point = key.point();
    REQUIRE(point.size() == 65);
    auto fromPoint = p256PointFromPublicKey(point);
    REQUIRE(fromPoint.ok());
    CHECK(*fromPoint == point);
    auto fromSpki = p256PointFromPublicKey(key.publicKeyDer());
    REQUIRE(fromSpki.ok());
    CHECK(*fromSpki == point);

    QByteArray offCurve = point;
    offCurve[64] = char(offCurve[64] ^ 0x01);
    QByteArray xTooLarge = point; // x = 2^256 - 1 is not a field element
    for (int i = 1; i <= 32; ++i)
        xTooLarge[i] = char(0xff);
    QByteArray hybrid = point; // 0x06/0x07: the hybrid form, not uncompressed
    hybrid[0] = char(0x06);
    for (const QByteArray& bad : {offCurve, xTooLarge, QByteArray(1, '\x04') + QByteArray(64, '\0'),
                                  hybrid, point.left(64), point + QByteArray(1, '\0')}) {
        auto r = p256PointFromPublicKey(bad);
        CHECK_FALSE(r.ok());
        if (!r.ok())
            CHECK(r.error().code() == ErrorCode::BadInput);
    }
}

TEST_CASE("development and production keys are never mixed") {
    Keys dev, customer;
    const QList<QByteArray> devKeys{dev.app.publicKeyDer(), dev.update.publicKeyDer(),
                                    dev.backend.point()};
    CHECK(checkEnvironmentKeys(contentFor(dev, Environment::Development), devKeys).ok());
    CHECK(checkEnvironmentKeys(contentFor(customer, Environment::Production), devKeys).ok());

    auto prodWithDev = checkEnvironmentKeys(contentFor(dev, Environment::Production), devKeys);
    REQUIRE_FALSE(prodWithDev.ok());
    CHECK(prodWithDev.error().code() == ErrorCode::Refused);

    KeystoreContent mixed = contentFor(customer, Environment::Production);
    mixed.entries[2].publicKey = dev.backend.point();
    CHECK(checkEnvironmentKeys(mixed, devKeys).error().code() == ErrorCode::Refused);

    auto devWithCustomer =
        checkEnvironmentKeys(contentFor(customer, Environment::Development), devKeys);
    REQUIRE_FALSE(devWithCustomer.ok());
    CHECK(devWithCustomer.error().code() == ErrorCode::Refused);
}

TEST_CASE("public keys in PEM, DER or as points") {
    SoftSigner k;
    const QByteArray der = k.publicKeyDer();
    const QByteArray pem =
        "-----BEGIN PUBLIC KEY-----\n" + der.toBase64() + "\n-----END PUBLIC KEY-----\n";
    CHECK(*p256PointFromPublicKey(der) == k.point());
    CHECK(*p256PointFromPublicKey(k.point()) == k.point());
    auto fromPem = p256PointFromPublicKey(pem);
    REQUIRE(fromPem.ok());
    CHECK(*fromPem == k.point());
    CHECK_FALSE(p256PointFromPublicKey(QByteArray(65, '\x04')).ok());
    CHECK_FALSE(p256PointFromPublicKey(der + "x").ok());
    CHECK_FALSE(p256PointFromPublicKey(QByteArray()).ok());
}
