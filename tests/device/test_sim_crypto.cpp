// The virtual wearable's own encodings, written without OpenSSL's encoder and decoder
// frameworks, against what OpenSSL itself writes and reads.
#include "sim/ossl.h"
#include "station_side.h"

#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>

using namespace keyline::sim;
namespace st = keyline::devicetest;

namespace {

QByteArray opensslPem(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    QByteArray out(data, int(size));
    BIO_free(bio);
    return out;
}

QByteArray spkiOf(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key, &der);
    REQUIRE(size > 0);
    QByteArray out(reinterpret_cast<const char*>(der), size);
    OPENSSL_free(der);
    return out;
}

} // namespace

TEST_CASE("a virtual device writes its P-256 keys as OpenSSL does and reads them back") {
    for (int i = 0; i < 50; ++i) { // scalars with leading zero bytes come up among them
        auto key = ossl::generateP256();
        REQUIRE(key.ok());
        auto pem = ossl::privateKeyPem(key->get());
        REQUIRE(pem.ok());
        CHECK(*pem == opensslPem(key->get()));
        auto back = ossl::loadPrivateKeyPem(*pem);
        REQUIRE(back.ok());
        CHECK(ossl::samePublicKey(back->get(), key->get()));
        auto spki = ossl::p256SpkiDer(key->get());
        REQUIRE(spki.ok());
        CHECK(*spki == spkiOf(key->get()));
    }
}

TEST_CASE("a certificate's key is found by walking its DER, and a broken outline is refused") {
    st::Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    const QByteArray cert = st::issueCertificate(key.get(), QStringLiteral("KL-1"));
    auto spki = ossl::certificateSpki(cert);
    REQUIRE(spki.ok());
    CHECK(*spki == spkiOf(key.get()));

    for (const QByteArray& bad :
         {QByteArray(), QByteArray(1, '\x30'), cert.left(cert.size() - 1), cert + cert,
          QByteArray::fromHex("3000"), QByteArray::fromHex("30033001003000"),
          QByteArray::fromHex("3080") + cert.mid(4) + QByteArray::fromHex("0000"),
          QByteArray::fromHex("300c30040201013000030100") /* no TBS fields after serial */}) {
        auto r = ossl::certificateSpki(bad);
        CHECK_FALSE(r.ok());
        if (!r.ok())
            CHECK(r.error().code() == keyline::ErrorCode::BadInput);
    }
}
