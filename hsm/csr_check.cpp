#include "hsm/csr_check.h"

#include "common/ossl_ptr.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace keyline::hsm {

namespace {

constexpr qsizetype kMaxCsrBytes = 4096;

Error reject(CsrRejection why, const QString& text) {
    const ErrorCode code =
        why == CsrRejection::BadSignature ? ErrorCode::VerificationFailed : ErrorCode::BadInput;
    return Error(code, QStringLiteral("CSR rejected (%1): %2").arg(csrRejectionName(why), text),
                 int(why));
}

QString nameText(const X509_NAME* name) {
    OsslPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    // Clip what comes from outside before it goes into a message.
    return QString::fromUtf8(data, int(len)).left(128);
}

QByteArray pemToDer(const QByteArray& pem) {
    OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    OsslPtr<X509_REQ, X509_REQ_free> req(
        PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!req)
        return {};
    unsigned char* der = nullptr;
    const int len = i2d_X509_REQ(req.get(), &der);
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

} // namespace

QString csrRejectionName(CsrRejection r) {
    switch (r) {
    case CsrRejection::Malformed:
        return QStringLiteral("malformed");
    case CsrRejection::TooLarge:
        return QStringLiteral("too-large");
    case CsrRejection::NotEcKey:
        return QStringLiteral("not-ec-key");
    case CsrRejection::WrongCurve:
        return QStringLiteral("wrong-curve");
    case CsrRejection::WrongSubject:
        return QStringLiteral("wrong-subject");
    case CsrRejection::BadSignature:
        return QStringLiteral("bad-signature");
    }
    return QStringLiteral("unknown");
}

Result<void> checkIdentifier(const QString& what, const QString& value) {
    bool ok = !value.isEmpty() && value.size() <= 64;
    for (QChar c : value)
        ok = ok && c.unicode() < 128 &&
             (c.isLetterOrNumber() || c == u'.' || c == u'_' || c == u'-');
    if (!ok)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 '%2' must be 1 to 64 of A-Z a-z 0-9 . _ -")
                         .arg(what, value.left(80)));
    return success();
}

Result<CheckedCsr> checkDeviceCsr(const QByteArray& input, const QString& expectedDeviceId) {
    KL_TRY(checkIdentifier(QStringLiteral("device ID"), expectedDeviceId));
    if (input.size() > kMaxCsrBytes * 2)
        return reject(CsrRejection::TooLarge, QStringLiteral("%1 bytes").arg(input.size()));
    QByteArray der = input;
    if (input.startsWith("-----BEGIN")) {
        der = pemToDer(input);
        if (der.isEmpty())
            return reject(CsrRejection::Malformed,
                          QStringLiteral("PEM does not hold a PKCS#10 request"));
    }
    if (der.size() > kMaxCsrBytes)
        return reject(CsrRejection::TooLarge,
                      QStringLiteral("%1 bytes, at most %2").arg(der.size()).arg(kMaxCsrBytes));
    if (der.isEmpty())
        return reject(CsrRejection::Malformed, QStringLiteral("empty"));

    const auto* begin = reinterpret_cast<const unsigned char*>(der.constData());
    const auto* p = begin;
    OsslPtr<X509_REQ, X509_REQ_free> req(d2i_X509_REQ(nullptr, &p, long(der.size())));
    if (!req)
        return reject(CsrRejection::Malformed, QStringLiteral("not a DER PKCS#10 request"));
    if (p != begin + der.size())
        return reject(CsrRejection::Malformed,
                      QStringLiteral("%1 bytes after the request").arg(begin + der.size() - p));
    if (X509_REQ_get_version(req.get()) != X509_REQ_VERSION_1)
        return reject(CsrRejection::Malformed, QStringLiteral("version is not 1"));

    EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
    if (!key)
        return reject(CsrRejection::Malformed, QStringLiteral("public key does not parse"));
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return reject(CsrRejection::NotEcKey,
                      QStringLiteral("key type is %1, the station issues for EC P-256 only")
                          .arg(QLatin1String(OBJ_nid2sn(EVP_PKEY_get_base_id(key)))));
    char group[64] = {};
    size_t groupLen = 0;
    if (!EVP_PKEY_get_group_name(key, group, sizeof group, &groupLen) ||
        OBJ_txt2nid(group) != NID_X9_62_prime256v1)
        return reject(CsrRejection::WrongCurve,
                      QStringLiteral("key is on curve '%1', the station issues for P-256 only")
                          .arg(QLatin1String(group)));

    // Exactly one attribute, CN, equal to the ID this station assigned: anything more would be
    // copied into nothing, but a device asking for it is not behaving as specified.
    const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    bool subjectOk = X509_NAME_entry_count(subject) == 1;
    if (subjectOk) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, 0);
        const ASN1_STRING* v = X509_NAME_ENTRY_get_data(e);
        subjectOk = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_commonName &&
                    QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                               ASN1_STRING_length(v)) == expectedDeviceId.toUtf8();
    }
    if (!subjectOk)
        return reject(CsrRejection::WrongSubject,
                      QStringLiteral("subject is '%1', expected 'CN=%2'")
                          .arg(nameText(subject), expectedDeviceId));

    if (X509_REQ_verify(req.get(), key) != 1)
        return reject(CsrRejection::BadSignature,
                      QStringLiteral("signature does not verify with the request's own key"));

    // The key's bytes straight from the request's SubjectPublicKeyInfo: re-encoding an EVP_PKEY
    // costs hundreds of microseconds in OpenSSL 3.0's encoder framework, these cost nothing.
    X509_PUBKEY* xpub = X509_REQ_get_X509_PUBKEY(req.get());
    const unsigned char* point = nullptr;
    int pointLen = 0;
    if (!xpub || !X509_PUBKEY_get0_param(nullptr, &point, &pointLen, nullptr, xpub) ||
        pointLen != 65 || point[0] != 0x04)
        return reject(CsrRejection::Malformed,
                      QStringLiteral("public key must be an uncompressed P-256 point"));
    unsigned char* spki = nullptr;
    const int spkiLen = i2d_X509_PUBKEY(xpub, &spki);
    if (spkiLen <= 0)
        return reject(CsrRejection::Malformed, QStringLiteral("public key does not encode"));
    CheckedCsr out;
    out.m_deviceId = expectedDeviceId;
    out.m_spki = QByteArray(reinterpret_cast<const char*>(spki), spkiLen);
    out.m_point = QByteArray(reinterpret_cast<const char*>(point), pointLen);
    OPENSSL_free(spki);
    return out;
}

} // namespace keyline::hsm
