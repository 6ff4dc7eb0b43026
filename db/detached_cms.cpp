#include "db/detached_cms.h"

#include "common/ossl_ptr.h"

#include <algorithm>
#include <cstring>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <vector>

namespace keyline::db {

namespace {

using X509Ptr = OsslPtr<X509, X509_free>;
using BioPtr = OsslPtr<BIO, BIO_free>;
using CmsPtr = OsslPtr<CMS_ContentInfo, CMS_ContentInfo_free>;

// sk_X509_free is a macro; OsslPtr needs a function.
void freeCertificateStack(STACK_OF(X509) * stack) {
    sk_X509_free(stack);
}

QString opensslErrors() {
    QStringList texts;
    while (const unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        texts << QString::fromLatin1(buffer);
    }
    return texts.isEmpty() ? QStringLiteral("no detail") : texts.join(QStringLiteral("; "));
}

std::vector<X509Ptr> readCertificates(const QByteArray& pem) {
    std::vector<X509Ptr> certs;
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        certs.emplace_back(cert);
    ERR_clear_error(); // the end of the PEM input reads as an error
    return certs;
}

QByteArray derOf(const unsigned char* data, int length) {
    return QByteArray(reinterpret_cast<const char*>(data), length);
}

QByteArray spkiOf(X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    if (len <= 0)
        return {};
    QByteArray out = derOf(der, len);
    OPENSSL_free(der);
    return out;
}

QByteArray derLength(qsizetype length) {
    if (length < 0x80)
        return QByteArray(1, char(length));
    QByteArray bytes;
    for (qsizetype n = length; n > 0; n >>= 8)
        bytes.prepend(char(n & 0xff));
    return char(0x80 | bytes.size()) + bytes;
}

// What RFC 5652 §5.4 says is signed: the signed attributes encoded as an explicit SET OF in DER,
// i.e. sorted by their encodings (the same comparison OpenSSL uses when it writes them).
Result<QByteArray> signedAttributesDer(CMS_SignerInfo* si) {
    std::vector<QByteArray> encoded;
    for (int i = 0; i < CMS_signed_get_attr_count(si); ++i) {
        unsigned char* der = nullptr;
        const int len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &der);
        if (len <= 0)
            return Error(ErrorCode::Internal, QStringLiteral("cannot encode a signed attribute"));
        encoded.push_back(derOf(der, len));
        OPENSSL_free(der);
    }
    std::sort(encoded.begin(), encoded.end(), [](const QByteArray& a, const QByteArray& b) {
        const int c =
            std::memcmp(a.constData(), b.constData(), std::size_t(std::min(a.size(), b.size())));
        return c != 0 ? c < 0 : a.size() < b.size();
    });
    QByteArray body;
    for (const QByteArray& attribute : encoded)
        body += attribute;
    return char(0x31) + derLength(body.size()) + body;
}

Result<void> addSignedAttributes(CMS_SignerInfo* si, const QByteArray& contentSha256) {
    OsslPtr<ASN1_TIME, ASN1_TIME_free> now(X509_gmtime_adj(nullptr, 0));
    if (!now ||
        !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                     OBJ_nid2obj(NID_pkcs7_data), -1) ||
        !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, ASN1_STRING_type(now.get()),
                                     now.get(), -1) ||
        !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                     contentSha256.constData(), int(contentSha256.size())))
        return Error(ErrorCode::Internal,
                     QStringLiteral("cannot add the signed attributes: %1").arg(opensslErrors()));
    return success();
}

} // namespace

Result<QByteArray> signDetachedCms(const QByteArray& contentSha256, const Signer& signer,
                                   const QByteArray& certificateChainPem) {
    if (contentSha256.size() != 32)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("content digest is not SHA-256"));
    std::vector<X509Ptr> chain = readCertificates(certificateChainPem);
    if (chain.empty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("no PEM certificate in the audit certificate chain"));
    X509* signerCert = chain.front().get();
    if (spkiOf(signerCert) != signer.publicKeyDer())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("the first certificate of the audit chain is not for the "
                                    "audit signing key"));

    constexpr unsigned flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
    CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
    // The public key stands in for the private one: with CMS_PARTIAL, OpenSSL only needs it to
    // match the certificate and to pick the signature algorithm; it never signs with it.
    CMS_SignerInfo* si = cms ? CMS_add1_signer(cms.get(), signerCert, X509_get0_pubkey(signerCert),
                                               EVP_sha256(), flags | CMS_NOSMIMECAP)
                             : nullptr;
    if (!si)
        return Error(ErrorCode::Internal,
                     QStringLiteral("cannot build the CMS structure: %1").arg(opensslErrors()));
    for (std::size_t i = 1; i < chain.size(); ++i)
        if (!CMS_add1_cert(cms.get(), chain[i].get()))
            return Error(ErrorCode::Internal, QStringLiteral("cannot add a chain certificate"));
    KL_TRY(addSignedAttributes(si, contentSha256));

    KL_TRY_ASSIGN(const QByteArray attributes, signedAttributesDer(si));
    unsigned char digest[32];
    unsigned int digestLen = 0;
    if (!EVP_Digest(attributes.constData(), std::size_t(attributes.size()), digest, &digestLen,
                    EVP_sha256(), nullptr))
        return Error(ErrorCode::Internal, QStringLiteral("cannot hash the signed attributes"));
    KL_TRY_ASSIGN(const QByteArray signature,
                  signer.signDigest(derOf(digest, int(digestLen)))
                      .context(QStringLiteral("sign the audit export")));
    if (!ASN1_OCTET_STRING_set(CMS_SignerInfo_get0_signature(si),
                               reinterpret_cast<const unsigned char*>(signature.constData()),
                               int(signature.size())))
        return Error(ErrorCode::Internal, QStringLiteral("cannot store the signature"));
    // Checks the splice with OpenSSL's own encoding of the attributes before anything is
    // written: a mismatch here is a bug, not a bad file for the auditor to find.
    if (CMS_SignerInfo_verify(si) != 1)
        return Error(ErrorCode::Internal,
                     QStringLiteral("the CMS signature does not verify: %1").arg(opensslErrors()));

    unsigned char* der = nullptr;
    const int len = i2d_CMS_ContentInfo(cms.get(), &der);
    if (len <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the CMS signature"));
    QByteArray out = derOf(der, len);
    OPENSSL_free(der);
    return out;
}

Result<QString> verifyDetachedCms(const QByteArray& cmsDer, const QByteArray& content,
                                  const QByteArray& trustedRootsPem) {
    const auto* p = reinterpret_cast<const unsigned char*>(cmsDer.constData());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, long(cmsDer.size())));
    if (!cms || p != reinterpret_cast<const unsigned char*>(cmsDer.constData()) + cmsDer.size()) {
        ERR_clear_error();
        return Error(ErrorCode::BadInput, QStringLiteral("the signature file is not DER CMS"));
    }
    OsslPtr<X509_STORE, X509_STORE_free> store(X509_STORE_new());
    const std::vector<X509Ptr> roots = readCertificates(trustedRootsPem);
    if (roots.empty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("no trusted root certificate (PEM) to verify against"));
    for (const X509Ptr& root : roots)
        X509_STORE_add_cert(store.get(), root.get());
    // The audit certificate carries digitalSignature but no S/MIME extended key usage.
    X509_STORE_set_purpose(store.get(), X509_PURPOSE_ANY);
    // The content behind a buffer BIO, not as a bare memory BIO: OpenSSL 3.0's CMS_verify copies
    // a memory BIO into a temporary one that it leaks when the SignedData names an unknown
    // digest algorithm (found by tests/fuzz/fuzz_audit_verify.cpp; test_detached_cms.cpp).
    OsslPtr<BIO, BIO_free_all> data(BIO_new(BIO_f_buffer()));
    if (!data)
        return Error(ErrorCode::Internal, QStringLiteral("out of memory"));
    BIO_push(data.get(), BIO_new_mem_buf(content.constData(), int(content.size())));
    if (CMS_verify(cms.get(), nullptr, store.get(), data.get(), nullptr, CMS_BINARY) != 1)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("the CMS signature does not verify: %1").arg(opensslErrors()));
    OsslPtr<STACK_OF(X509), freeCertificateStack> signers(CMS_get0_signers(cms.get()));
    if (!signers || sk_X509_num(signers.get()) != 1)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("the signature must have exactly one signer"));
    char name[512] = {};
    X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers.get(), 0)), name, sizeof name);
    return QString::fromUtf8(name);
}

} // namespace keyline::db
