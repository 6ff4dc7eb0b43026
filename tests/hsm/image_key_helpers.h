#pragma once

// OpenSSL stand-ins for the other side of the image key: the product's key-management HSM
// (RSA-OAEP wrap under the station's transport key) and the device (AES-256-GCM, KCV).

#include "common/ossl_ptr.h"

#include <QByteArray>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace keyline::test {

// The test's own image key: known to the test only, never a real one.
inline QByteArray knownImageKey() {
    QByteArray k(32, '\0');
    for (int i = 0; i < 32; ++i)
        k[i] = char(0xa0 + i);
    return k;
}

// AES-256-ECB(key, 0^16)[0..3)
inline QByteArray opensslKcv(const QByteArray& key) {
    OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> c(EVP_CIPHER_CTX_new());
    REQUIRE(EVP_EncryptInit_ex(c.get(), EVP_aes_256_ecb(), nullptr,
                               reinterpret_cast<const unsigned char*>(key.constData()),
                               nullptr) == 1);
    EVP_CIPHER_CTX_set_padding(c.get(), 0);
    unsigned char zero[16] = {};
    unsigned char out[32];
    int len = 0;
    REQUIRE(EVP_EncryptUpdate(c.get(), out, &len, zero, sizeof zero) == 1);
    return QByteArray(reinterpret_cast<const char*>(out), 3);
}

// RSA-OAEP (SHA-256/MGF1-SHA-256, or SHA-1/MGF1-SHA-1) of `key` under a PEM public key.
inline QByteArray oaepWrap(const QByteArray& publicPem, const QByteArray& key, bool sha256) {
    OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(publicPem.constData(), int(publicPem.size())));
    OsslPtr<EVP_PKEY, EVP_PKEY_free> pub(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(pub);
    REQUIRE(EVP_PKEY_get_bits(pub.get()) == 3072);
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(pub.get(), nullptr));
    REQUIRE(EVP_PKEY_encrypt_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
    const EVP_MD* md = sha256 ? EVP_sha256() : EVP_sha1();
    REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1);
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(key.constData());
    REQUIRE(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, in, std::size_t(key.size())) == 1);
    QByteArray out(qsizetype(len), '\0');
    REQUIRE(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in,
                             std::size_t(key.size())) == 1);
    out.resize(qsizetype(len));
    return out;
}

struct OpensslGcm {
    QByteArray ciphertext;
    QByteArray tag;
};

inline OpensslGcm opensslGcmEncrypt(const QByteArray& key, const QByteArray& iv,
                                    const QByteArray& aad, const QByteArray& plaintext) {
    OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> c(EVP_CIPHER_CTX_new());
    REQUIRE(EVP_EncryptInit_ex2(
                c.get(), EVP_aes_256_gcm(), reinterpret_cast<const unsigned char*>(key.constData()),
                reinterpret_cast<const unsigned char*>(iv.constData()), nullptr) == 1);
    int len = 0;
    if (!aad.isEmpty())
        REQUIRE(EVP_EncryptUpdate(c.get(), nullptr, &len,
                                  reinterpret_cast<const unsigned char*>(aad.constData()),
                                  int(aad.size())) == 1);
    OpensslGcm out;
    out.ciphertext.resize(plaintext.size() + 16);
    auto* o = reinterpret_cast<unsigned char*>(out.ciphertext.data());
    REQUIRE(EVP_EncryptUpdate(c.get(), o, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.constData()),
                              int(plaintext.size())) == 1);
    int fin = 0;
    REQUIRE(EVP_EncryptFinal_ex(c.get(), o + len, &fin) == 1);
    out.ciphertext.resize(len + fin);
    out.tag.resize(16);
    REQUIRE(EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, 16, out.tag.data()) == 1);
    return out;
}

} // namespace keyline::test
