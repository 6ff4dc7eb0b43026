#include "hsm/device_cert_builder.h"

#include "common/der_writer.h"
#include "common/ossl_ptr.h"
#include "hsm/ec_util.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

namespace keyline::hsm {

namespace {

QByteArray bytes(std::initializer_list<unsigned char> list) {
    QByteArray out;
    out.reserve(qsizetype(list.size()));
    for (unsigned char c : list)
        out.append(char(c));
    return out;
}

// AlgorithmIdentifier { ecdsa-with-SHA256 } with the parameters absent (RFC 5758 §3.2).
const QByteArray& ecdsaWithSha256() {
    static const QByteArray alg =
        bytes({0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02});
    return alg;
}

QByteArray extensionDer(X509* ca, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, nullptr, nullptr, nullptr, 0);
    OsslPtr<X509_EXTENSION, X509_EXTENSION_free> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext)
        return {};
    unsigned char* der = nullptr;
    const int len = i2d_X509_EXTENSION(ext.get(), &der);
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

// RelativeDistinguishedName with one AttributeTypeAndValue whose value is a UTF8String, the
// string type OpenSSL's default mask ("utf8only") gives these attributes.
void appendRdn(QByteArray& out, unsigned char attributeOid, QByteArrayView utf8) {
    QByteArray atv;
    atv.reserve(utf8.size() + 8);
    der::appendTlv(atv, der::ObjectId, bytes({0x55, 0x04, attributeOid}));
    der::appendTlv(atv, der::Utf8String, utf8);
    der::appendTlv(out, der::Set, der::tlv(der::Sequence, atv));
}

// subjectKeyIdentifier: SHA-1 of the subject public key's bits (RFC 5280 §4.2.1.2 method 1).
QByteArray subjectKeyIdExtension(QByteArrayView point) {
    unsigned char sha1[20];
    unsigned int len = 0;
    static const OsslPtr<EVP_MD, EVP_MD_free> md(EVP_MD_fetch(nullptr, "SHA1", nullptr));
    if (!md ||
        EVP_Digest(point.data(), std::size_t(point.size()), sha1, &len, md.get(), nullptr) != 1 ||
        len != sizeof sha1)
        return {};
    QByteArray ext = bytes({0x06, 0x03, 0x55, 0x1d, 0x0e});
    der::appendTlv(ext, der::OctetString,
                   der::tlv(der::OctetString,
                            QByteArrayView(reinterpret_cast<const char*>(sha1), sizeof sha1)));
    return der::tlv(der::Sequence, ext);
}

} // namespace

QByteArray timeDer(const ASN1_TIME* time) {
    unsigned char* der = nullptr;
    const int len = i2d_ASN1_TIME(time, &der);
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

Result<DeviceCertificateBuilder> DeviceCertificateBuilder::forIssuer(X509* ca) {
    DeviceCertificateBuilder b;
    unsigned char* name = nullptr;
    const int nameLen = i2d_X509_NAME(X509_get_subject_name(ca), &name);
    if (nameLen <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the CA's subject"));
    b.m_issuerName = QByteArray(reinterpret_cast<const char*>(name), nameLen);
    OPENSSL_free(name);
    if (!X509_get0_subject_key_id(ca))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the issuing CA certificate has no subject key identifier: "
                                    "re-import a certificate made by 'keyline hsm ceremony'"));
    const QByteArray bc = extensionDer(ca, NID_basic_constraints, "critical,CA:FALSE");
    const QByteArray ku = extensionDer(ca, NID_key_usage, "critical,digitalSignature");
    const QByteArray eku = extensionDer(ca, NID_ext_key_usage, "clientAuth");
    b.m_authorityKeyId = extensionDer(ca, NID_authority_key_identifier, "keyid:always");
    if (bc.isEmpty() || ku.isEmpty() || eku.isEmpty() || b.m_authorityKeyId.isEmpty())
        return Error(ErrorCode::Internal,
                     QStringLiteral("cannot encode the device certificate extensions"));
    b.m_fixedExtensions = bc + ku + eku;
    return b;
}

QByteArray DeviceCertificateBuilder::toBeSigned(const DeviceCertificateFields& f) const {
    QByteArray subject;
    subject.reserve(f.customerId.size() + f.environment.size() + f.deviceId.size() + 40);
    appendRdn(subject, 0x0a, f.customerId);  // id-at-organizationName
    appendRdn(subject, 0x0b, f.environment); // id-at-organizationalUnitName
    appendRdn(subject, 0x03, f.deviceId);    // id-at-commonName

    QByteArray extensions = m_fixedExtensions;
    extensions += subjectKeyIdExtension(f.point);
    extensions += m_authorityKeyId;

    QByteArray body;
    body.reserve(512 + subject.size());
    body += bytes({0xa0, 0x03, 0x02, 0x01, 0x02}); // [0] version v3
    der::appendTlv(body, der::Integer, f.serial);
    body += ecdsaWithSha256();
    body += m_issuerName;
    der::appendTlv(body, der::Sequence, f.notBefore + f.notAfter);
    der::appendTlv(body, der::Sequence, subject);
    body += p256SpkiFromPoint(f.point);
    der::appendTlv(body, der::ContextConstructed3, der::tlv(der::Sequence, extensions));
    return der::tlv(der::Sequence, body);
}

QByteArray DeviceCertificateBuilder::certificate(QByteArrayView toBeSigned,
                                                 QByteArrayView derSignature) {
    QByteArray signature;
    signature.reserve(derSignature.size() + 1);
    signature.append('\0'); // no unused bits
    signature.append(derSignature);
    QByteArray body;
    body.reserve(toBeSigned.size() + signature.size() + 24);
    body.append(toBeSigned);
    body += ecdsaWithSha256();
    der::appendTlv(body, der::BitString, signature);
    return der::tlv(der::Sequence, body);
}

} // namespace keyline::hsm
