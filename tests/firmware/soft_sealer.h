#pragma once

// The OS sealing of a station's HSM (AES-256-GCM with the image key, a fresh 96-bit IV), done by
// OpenSSL with a key the test holds, for tests that need packages without an HSM.

#include "common/ossl_ptr.h"
#include "firmware_image/package.h"

#include <QRandomGenerator>
#include <catch2/catch.hpp>
#include <openssl/evp.h>

namespace keyline::test {

class SoftSealStream final : public firmware::OsSealStream {
public:
    SoftSealStream(const QByteArray& key, const QByteArray& aad)
        : m_ctx(EVP_CIPHER_CTX_new())
        , m_iv(12, '\0') {
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32*>(m_iv.data()), 3);
        int len = 0;
        REQUIRE(EVP_EncryptInit_ex(m_ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr));
        REQUIRE(EVP_EncryptInit_ex(m_ctx.get(), nullptr, nullptr, u(key), u(m_iv)));
        REQUIRE(EVP_EncryptUpdate(m_ctx.get(), nullptr, &len, u(aad), int(aad.size())));
    }
    QByteArray iv() const override { return m_iv; }
    Result<QByteArray> update(QByteArrayView plaintext) override {
        QByteArray out(plaintext.size(), '\0');
        int len = 0;
        REQUIRE(EVP_EncryptUpdate(m_ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                                  reinterpret_cast<const unsigned char*>(plaintext.data()),
                                  int(plaintext.size())));
        return out;
    }
    Result<Tail> finish() override {
        unsigned char rest[16];
        int len = 0;
        REQUIRE(EVP_EncryptFinal_ex(m_ctx.get(), rest, &len));
        Tail t;
        t.tag = QByteArray(16, '\0');
        REQUIRE(EVP_CIPHER_CTX_ctrl(m_ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, t.tag.data()));
        return t;
    }

private:
    static const unsigned char* u(const QByteArray& b) {
        return reinterpret_cast<const unsigned char*>(b.constData());
    }
    OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> m_ctx;
    QByteArray m_iv;
};

class SoftSealer final : public firmware::OsSealer {
public:
    explicit SoftSealer(QByteArray key)
        : m_key(std::move(key)) {}
    Result<std::unique_ptr<firmware::OsSealStream>> begin(const QByteArray& aad) override {
        return std::unique_ptr<firmware::OsSealStream>(new SoftSealStream(m_key, aad));
    }

private:
    QByteArray m_key;
};

} // namespace keyline::test
