#include "sim/ossl.h"

#include "common/der_reader.h"
#include "common/der_writer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <optional>

namespace keyline::sim::ossl {
namespace {

struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Error cryptoError(const QString& what) {
    return Error(ErrorCode::Internal, QStringLiteral("%1: %2").arg(what, lastError()));
}

QByteArray bioContents(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return QByteArray(data, size);
}

} // namespace

QString lastError() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0)
        return QStringLiteral("unknown OpenSSL error");
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    return QString::fromLatin1(text);
}

Result<Pkey> generateP256() {
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key)
        return cryptoError(QStringLiteral("P-256 key generation"));
    return key;
}

namespace {

// PKCS#8 of a P-256 key, the bytes PEM_write_bio_PrivateKey() writes, built directly: OpenSSL
// 3.0 runs its encoder framework for every key it writes, which cost a virtual device more
// than generating the key. Nothing for any other key.
std::optional<QByteArray> p256PrivateKeyPem(EVP_PKEY* key) {
    char group[32] = {};
    if (!EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       nullptr) != 1 ||
        qstrcmp(group, "prime256v1") != 0)
        return std::nullopt;
    BIGNUM* d = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
        return std::nullopt;
    QByteArray scalar(32, '\0');
    const bool fits =
        BN_bn2binpad(d, reinterpret_cast<unsigned char*>(scalar.data()), int(scalar.size())) == 32;
    BN_clear_free(d);
    auto point = publicPoint(key);
    if (!fits || !point)
        return std::nullopt;
    constexpr unsigned char kPublicKeyTag = 0xa1; // ECPrivateKey's [1] publicKey
    QByteArray ecPrivateKey = der::tlv(
        der::Sequence, QByteArray::fromHex("020101") + der::tlv(der::OctetString, scalar) +
                           der::tlv(kPublicKeyTag, der::tlv(der::BitString, '\0' + *point)));
    QByteArray pkcs8Body = QByteArray::fromHex("020100"); // version 0
    pkcs8Body += der::kP256KeyAlgorithm;
    pkcs8Body += der::tlv(der::OctetString, ecPrivateKey);
    QByteArray pkcs8 = der::tlv(der::Sequence, pkcs8Body);
    QByteArray base64 = pkcs8.toBase64();
    QByteArray pem("-----BEGIN PRIVATE KEY-----\n");
    for (qsizetype at = 0; at < base64.size(); at += 64) {
        pem += QByteArrayView(base64).sliced(at, std::min<qsizetype>(64, base64.size() - at));
        pem += '\n';
    }
    pem += "-----END PRIVATE KEY-----\n";
    for (QByteArray* secret : {&scalar, &ecPrivateKey, &pkcs8Body, &pkcs8, &base64})
        OPENSSL_cleanse(secret->data(), std::size_t(secret->size()));
    return pem;
}

} // namespace

Result<QByteArray> privateKeyPem(EVP_PKEY* key) {
    if (auto pem = p256PrivateKeyPem(key))
        return *pem;
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return cryptoError(QStringLiteral("serialising a private key"));
    return bioContents(bio.get());
}

Result<Pkey> loadPrivateKeyPem(const QByteArray& pem) {
    Bio bio(BIO_new_mem_buf(pem.constData(), static_cast<int>(pem.size())));
    Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("stored private key does not parse: %1").arg(lastError()));
    return key;
}

Result<QByteArray> publicPoint(EVP_PKEY* key) {
    QByteArray point(65, '\0');
    size_t size = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        reinterpret_cast<unsigned char*>(point.data()),
                                        size_t(point.size()), &size) != 1 ||
        size != 65)
        return cryptoError(QStringLiteral("exporting a P-256 public point"));
    return point;
}

Result<Pkey> publicKeyFromPoint(const QByteArray& point) {
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    char group[] = "P-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                             const_cast<char*>(point.constData()),
                                                             size_t(point.size())),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("not a P-256 public point: %1").arg(lastError()));
    Pkey key(raw);
    // fromdata does not prove the point is on the curve; a public-key check does. The quick one
    // suffices on P-256 (cofactor 1: every point on the curve but infinity has prime order).
    PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!check || EVP_PKEY_public_check_quick(check.get()) != 1)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("P-256 point is not on the curve: %1").arg(lastError()));
    return key;
}

Result<QByteArray> signSha256(EVP_PKEY* key, const QByteArray& message) {
    MdCtx ctx(EVP_MD_CTX_new());
    size_t size = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &size,
                       reinterpret_cast<const unsigned char*>(message.constData()),
                       size_t(message.size())) != 1)
        return cryptoError(QStringLiteral("ECDSA signing"));
    QByteArray signature(qsizetype(size), '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                       reinterpret_cast<const unsigned char*>(message.constData()),
                       size_t(message.size())) != 1)
        return cryptoError(QStringLiteral("ECDSA signing"));
    signature.resize(qsizetype(size));
    return signature;
}

Result<QByteArray> ecdhSharedX(EVP_PKEY* own, EVP_PKEY* peer) {
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
    size_t size = 0;
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
        EVP_PKEY_derive(ctx.get(), nullptr, &size) != 1)
        return cryptoError(QStringLiteral("ECDH key agreement"));
    QByteArray secret(qsizetype(size), '\0');
    if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &size) != 1)
        return cryptoError(QStringLiteral("ECDH key agreement"));
    secret.resize(qsizetype(size));
    return secret;
}

Result<QByteArray> aes256UnwrapPad(const QByteArray& kek, const QByteArray& wrapped) {
    if (kek.size() != 32)
        return Error(ErrorCode::Internal, QStringLiteral("key encryption key is not 32 bytes"));
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx)
        return cryptoError(QStringLiteral("AES key unwrap"));
    // The wrap modes are refused unless the caller opts in explicitly.
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    QByteArray key(wrapped.size() + 16, '\0');
    int len = 0;
    int total = 0;
    if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_wrap_pad(), nullptr,
                           reinterpret_cast<const unsigned char*>(kek.constData()), nullptr) != 1 ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(key.data()), &len,
                          reinterpret_cast<const unsigned char*>(wrapped.constData()),
                          static_cast<int>(wrapped.size())) != 1)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("wrapped key does not unwrap: %1").arg(lastError()));
    total = len;
    if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(key.data()) + total,
                            &len) != 1)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("wrapped key does not unwrap: %1").arg(lastError()));
    key.resize(total + len);
    return key;
}

Result<QByteArray> aesKeyCheckValue(const QByteArray& key) {
    if (key.size() != 32)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("image key is %1 bytes, not an AES-256 key").arg(key.size()));
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    unsigned char zeros[16] = {};
    unsigned char out[32] = {};
    int len = 0;
    if (!ctx ||
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.constData()), nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_EncryptUpdate(ctx.get(), out, &len, zeros, sizeof(zeros)) != 1 || len != 16)
        return cryptoError(QStringLiteral("key check value"));
    return QByteArray(reinterpret_cast<const char*>(out), 3);
}

QByteArray sha256(const QByteArray& bytes) {
    unsigned char digest[32];
    unsigned int size = 0;
    EVP_Digest(bytes.constData(), size_t(bytes.size()), digest, &size, EVP_sha256(), nullptr);
    return QByteArray(reinterpret_cast<const char*>(digest), 32);
}

Sha256Stream::Sha256Stream()
    : m_ctx(EVP_MD_CTX_new()) {
    if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1)
        m_ctx.reset(); // finish() then answers nothing, and the caller hashes the file instead
}

void Sha256Stream::add(const char* data, std::size_t size) {
    if (m_ctx && EVP_DigestUpdate(m_ctx.get(), data, size) != 1)
        m_ctx.reset();
    m_bytes += size;
}

QByteArray Sha256Stream::finish() {
    unsigned char digest[32];
    unsigned int size = 0;
    if (!m_ctx || EVP_DigestFinal_ex(m_ctx.get(), digest, &size) != 1 || size != 32)
        return {};
    m_ctx.reset();
    return QByteArray(reinterpret_cast<const char*>(digest), 32);
}

Result<Cert> certificateFromDer(const QByteArray& der) {
    auto p = reinterpret_cast<const unsigned char*>(der.constData());
    Cert cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("certificate is not one DER X.509 certificate"));
    return cert;
}

Result<Cert> certificateFromPem(const QByteArray& pem) {
    Bio bio(BIO_new_mem_buf(pem.constData(), static_cast<int>(pem.size())));
    Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("PEM certificate does not parse: %1").arg(lastError()));
    return cert;
}

Result<QByteArray> certificateDer(X509* cert) {
    int size = i2d_X509(cert, nullptr);
    if (size <= 0)
        return cryptoError(QStringLiteral("encoding a certificate"));
    QByteArray der(size, '\0');
    auto p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &p);
    return der;
}

Result<QByteArray> certificatePem(X509* cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
        return cryptoError(QStringLiteral("encoding a certificate"));
    return bioContents(bio.get());
}

Result<QByteArray> p256SpkiDer(EVP_PKEY* key) {
    KL_TRY_ASSIGN(const QByteArray point, publicPoint(key));
    return der::p256SpkiFromPoint(point);
}

Result<QByteArray> makeCsrDer(EVP_PKEY* key, const QString& commonName) {
    // Written as DER directly: X509_REQ_set_pubkey() in OpenSSL 3.0 encodes the key and decodes
    // it again through the decoder framework, which cost more than the signature.
    static const QByteArray commonNameOid = QByteArray::fromHex("0603550403");
    static const QByteArray ecdsaWithSha256 = QByteArray::fromHex("300a06082a8648ce3d040302");
    KL_TRY_ASSIGN(const QByteArray spki, p256SpkiDer(key));
    QByteArray rdns;
    // An empty CN is not representable as an entry; the subject then stays empty.
    if (!commonName.isEmpty())
        rdns = der::tlv(der::Set,
                        der::tlv(der::Sequence,
                                 commonNameOid + der::tlv(der::Utf8String, commonName.toUtf8())));
    const QByteArray info =
        der::tlv(der::Sequence, QByteArray::fromHex("020100") + der::tlv(der::Sequence, rdns) +
                                    spki + QByteArray::fromHex("a000")); // no attributes
    KL_TRY_ASSIGN(const QByteArray signature, signSha256(key, info));
    return der::tlv(der::Sequence,
                    info + ecdsaWithSha256 + der::tlv(der::BitString, '\0' + signature));
}

Result<QByteArray> certificateSpki(const QByteArray& bytes) {
    auto bad = [](const char* what) {
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("is not a DER X.509 certificate (%1)").arg(QLatin1String(what)));
    };
    der::Reader top(bytes);
    der::Tlv certificate;
    if (!top.expect(der::Sequence, certificate, "not a SEQUENCE"))
        return bad(top.error());
    if (!top.atEnd())
        return bad("bytes after the certificate");
    der::Reader fields(certificate.content);
    der::Tlv tbs, signatureAlgorithm, signature;
    if (!fields.expect(der::Sequence, tbs, "TBSCertificate") ||
        !fields.expect(der::Sequence, signatureAlgorithm, "signature algorithm") ||
        !fields.expect(der::BitString, signature, "signature value"))
        return bad(fields.error());
    if (!fields.atEnd())
        return bad("fields after the signature value");
    der::Reader tbsFields(tbs.content);
    der::Tlv field;
    if (tbsFields.peekTag() == der::ContextConstructed0)
        tbsFields.next(field); // version; a failure sticks and is reported below
    if (!tbsFields.expect(der::Integer, field, "serial number"))
        return bad(tbsFields.error());
    for (const char* name : {"signature", "issuer", "validity", "subject", "subjectPublicKeyInfo"})
        if (!tbsFields.expect(der::Sequence, field, name))
            return bad(tbsFields.error());
    return field.whole.toByteArray();
}

bool samePublicKey(EVP_PKEY* a, EVP_PKEY* b) {
    return a && b && EVP_PKEY_eq(a, b) == 1;
}

} // namespace keyline::sim::ossl
