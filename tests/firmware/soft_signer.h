#pragma once

// An in-memory keyline::Signer for format tests that need no HSM (the HSM-backed one is tested
// in tests/hsm).

#include "common/ossl_ptr.h"
#include "common/signer.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace keyline::test {

class SoftSigner final : public Signer {
public:
    SoftSigner()
        : m_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")) {}

    Result<QByteArray> signDigest(const QByteArray& digest) const override {
        OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(m_key.get(), nullptr));
        unsigned char sig[80];
        size_t len = sizeof sig;
        if (EVP_PKEY_sign_init(ctx.get()) != 1 ||
            EVP_PKEY_sign(ctx.get(), sig, &len,
                          reinterpret_cast<const unsigned char*>(digest.constData()),
                          std::size_t(digest.size())) != 1)
            return Error(ErrorCode::Internal, QStringLiteral("soft sign failed"));
        return QByteArray(reinterpret_cast<const char*>(sig), int(len));
    }

    QByteArray publicKeyDer() const override {
        unsigned char* der = nullptr;
        const int len = i2d_PUBKEY(m_key.get(), &der);
        QByteArray out(reinterpret_cast<const char*>(der), len);
        OPENSSL_free(der);
        return out;
    }

    // The private key, for tests that also need a certificate for it.
    EVP_PKEY* key() const { return m_key.get(); }

    // The 65-byte point, as keystore entries hold it.
    QByteArray point() const {
        unsigned char buf[65];
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(m_key.get(), "pub", buf, sizeof buf, &len);
        return QByteArray(reinterpret_cast<const char*>(buf), int(len));
    }

private:
    OsslPtr<EVP_PKEY, EVP_PKEY_free> m_key;
};

} // namespace keyline::test
