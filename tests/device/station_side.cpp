#include "station_side.h"

#include <QFile>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace keyline::devicetest {
namespace {

struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct ReqFree {
    void operator()(X509_REQ* p) const { X509_REQ_free(p); }
};
struct StoreFree {
    void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
    void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Cert = std::unique_ptr<X509, X509Free>;

const unsigned char* bytes(const QByteArray& b) {
    return reinterpret_cast<const unsigned char*>(b.constData());
}

Cert parseCertificate(const QByteArray& der) {
    const unsigned char* p = bytes(der);
    return Cert(d2i_X509(nullptr, &p, long(der.size())));
}

QString subjectField(const QByteArray& der, int nid) {
    Cert cert = parseCertificate(der);
    if (!cert)
        return {};
    char text[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), nid, text, sizeof(text));
    return QString::fromUtf8(text);
}

Pkey pointToKey(const QByteArray& point) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    char group[] = "P-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                             const_cast<char*>(point.constData()),
                                                             size_t(point.size())),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY* key = nullptr;
    EVP_PKEY_fromdata_init(ctx.get());
    EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params);
    return Pkey(key);
}

} // namespace

QByteArray randomBytes(int size) {
    QByteArray out(size, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), size);
    return out;
}

QByteArray sha256(const QByteArray& data) {
    unsigned char digest[32];
    unsigned int size = 0;
    EVP_Digest(data.constData(), size_t(data.size()), digest, &size, EVP_sha256(), nullptr);
    return QByteArray(reinterpret_cast<const char*>(digest), 32);
}

QString chainError(const QByteArray& certificateDer, const QString& rootPath) {
    Cert leaf = parseCertificate(certificateDer);
    if (!leaf)
        return QStringLiteral("the chip certificate does not parse");
    QFile file(rootPath);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read %1").arg(rootPath);
    const QByteArray pem = file.readAll();
    BIO* bio = BIO_new_mem_buf(pem.constData(), int(pem.size()));
    Cert root(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    if (!root)
        return QStringLiteral("the root does not parse");
    std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), root.get());
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT);
    if (X509_verify_cert(ctx.get()) == 1)
        return {};
    return QString::fromLatin1(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

QString certificateSerialNumber(const QByteArray& der) {
    return subjectField(der, NID_serialNumber);
}

QString certificateCommonName(const QByteArray& der) {
    return subjectField(der, NID_commonName);
}

Pkey certificatePublicKey(const QByteArray& der) {
    Cert cert = parseCertificate(der);
    return Pkey(cert ? X509_get_pubkey(cert.get()) : nullptr);
}

bool verifySignature(EVP_PKEY* key, const QByteArray& message, const QByteArray& signature) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    return key && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
           EVP_DigestVerify(ctx.get(), bytes(signature), size_t(signature.size()), bytes(message),
                            size_t(message.size())) == 1;
}

CsrInfo inspectCsr(const QByteArray& csrDer) {
    CsrInfo info;
    const unsigned char* p = bytes(csrDer);
    std::unique_ptr<X509_REQ, ReqFree> req(d2i_X509_REQ(nullptr, &p, long(csrDer.size())));
    if (!req)
        return info;
    info.publicKey = Pkey(X509_REQ_get_pubkey(req.get()));
    info.signatureValid = info.publicKey && X509_REQ_verify(req.get(), info.publicKey.get()) == 1;
    char text[256] = {};
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, text,
                              sizeof(text));
    info.commonName = QString::fromUtf8(text);
    return info;
}

bool samePublicKey(EVP_PKEY* a, EVP_PKEY* b) {
    return a && b && EVP_PKEY_eq(a, b) == 1;
}

protocol::OtpBurnRequest makeOtpBurn(const QByteArray& devicePoint, const QByteArray& imageKey) {
    Pkey station(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    Pkey device = pointToKey(devicePoint);
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> derive(
        EVP_PKEY_CTX_new_from_pkey(nullptr, station.get(), nullptr));
    size_t zSize = 32;
    QByteArray z(32, '\0');
    EVP_PKEY_derive_init(derive.get());
    EVP_PKEY_derive_set_peer(derive.get(), device.get());
    EVP_PKEY_derive(derive.get(), reinterpret_cast<unsigned char*>(z.data()), &zSize);

    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> wrap(EVP_CIPHER_CTX_new());
    EVP_CIPHER_CTX_set_flags(wrap.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    QByteArray wrapped(imageKey.size() + 16, '\0');
    int len = 0;
    int total = 0;
    EVP_EncryptInit_ex(wrap.get(), EVP_aes_256_wrap_pad(), nullptr, bytes(z), nullptr);
    EVP_EncryptUpdate(wrap.get(), reinterpret_cast<unsigned char*>(wrapped.data()), &len,
                      bytes(imageKey), int(imageKey.size()));
    total = len;
    EVP_EncryptFinal_ex(wrap.get(), reinterpret_cast<unsigned char*>(wrapped.data()) + total, &len);
    wrapped.resize(total + len);

    QByteArray point(65, '\0');
    size_t pointSize = 0;
    EVP_PKEY_get_octet_string_param(station.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                    reinterpret_cast<unsigned char*>(point.data()), 65, &pointSize);
    return protocol::OtpBurnRequest{point, wrapped};
}

QByteArray keyCheckValue(const QByteArray& key) {
    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
    unsigned char zeros[16] = {};
    unsigned char out[32] = {};
    int len = 0;
    EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, bytes(key), nullptr);
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    EVP_EncryptUpdate(ctx.get(), out, &len, zeros, 16);
    return QByteArray(reinterpret_cast<const char*>(out), 3);
}

QByteArray issueCertificate(EVP_PKEY* subjectKey, const QString& commonName) {
    Pkey caKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    Cert cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    const QByteArray cn = commonName.toUtf8();
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8, bytes(cn),
                               int(cn.size()), -1, 0);
    const unsigned char issuer[] = "Keyline test issuing CA";
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(cert.get()), "CN", MBSTRING_ASC, issuer, -1, -1,
                               0);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
    X509_set_pubkey(cert.get(), subjectKey);
    X509_sign(cert.get(), caKey.get(), EVP_sha256());
    QByteArray der(i2d_X509(cert.get(), nullptr), '\0');
    auto p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert.get(), &p);
    return der;
}

} // namespace keyline::devicetest
