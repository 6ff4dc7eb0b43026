#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <cstdint>
#include <memory>
#include <openssl/evp.h>
#include <openssl/x509.h>

// The cryptography a wearable's secure element performs, on OpenSSL 3 EVP APIs. Private keys are
// handled as EVP_PKEY and only ever serialised into the device's own state files.
namespace keyline::sim::ossl {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

// The last OpenSSL error queue entry as text (and clears the queue).
QString lastError();

Result<Pkey> generateP256();
// PKCS#8 PEM of a private key, and back.
Result<QByteArray> privateKeyPem(EVP_PKEY* key);
Result<Pkey> loadPrivateKeyPem(const QByteArray& pem);
// Uncompressed point 04||X||Y of a P-256 key (65 bytes), and a public key from one.
Result<QByteArray> publicPoint(EVP_PKEY* key);
Result<Pkey> publicKeyFromPoint(const QByteArray& point);

// ECDSA P-256 with SHA-256, DER signature.
Result<QByteArray> signSha256(EVP_PKEY* key, const QByteArray& message);

// ECDH on P-256: the shared X coordinate (32 bytes), as PKCS#11 CKD_NULL gives it.
Result<QByteArray> ecdhSharedX(EVP_PKEY* own, EVP_PKEY* peer);

// AES-256 key unwrap with padding (RFC 5649) under a 32-byte key encryption key.
Result<QByteArray> aes256UnwrapPad(const QByteArray& kek, const QByteArray& wrapped);

// PKCS#11 CKA_CHECK_VALUE for an AES key: first 3 bytes of AES-ECB(key, 16 zero bytes).
Result<QByteArray> aesKeyCheckValue(const QByteArray& key);

QByteArray sha256(const QByteArray& bytes);

// SHA-256 of bytes that arrive in pieces, and how many arrived.
class Sha256Stream {
public:
    Sha256Stream();
    void add(const char* data, std::size_t size);
    std::uint64_t bytes() const { return m_bytes; }
    QByteArray finish();

private:
    struct MdCtxFree {
        void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> m_ctx;
    std::uint64_t m_bytes = 0;
};

Result<Cert> certificateFromDer(const QByteArray& der);
Result<Cert> certificateFromPem(const QByteArray& pem);
Result<QByteArray> certificateDer(X509* cert);
Result<QByteArray> certificatePem(X509* cert);

// A PKCS#10 request with subject CN=<commonName>, signed by `key` (proof of possession).
Result<QByteArray> makeCsrDer(EVP_PKEY* key, const QString& commonName);

// The SubjectPublicKeyInfo DER of a P-256 key: named curve, uncompressed point.
Result<QByteArray> p256SpkiDer(EVP_PKEY* key);
// The SubjectPublicKeyInfo TLV of a DER X.509 certificate, found by walking its outline
// (Certificate, TBSCertificate up to the key, signature algorithm and value, nothing after);
// BadInput naming what is wrong when the bytes are not that outline. Unlike d2i_X509 it does not
// decode the key, which in OpenSSL 3.0 goes through the decoder framework.
Result<QByteArray> certificateSpki(const QByteArray& der);

// True when both keys are the same public key.
bool samePublicKey(EVP_PKEY* a, EVP_PKEY* b);

} // namespace keyline::sim::ossl
