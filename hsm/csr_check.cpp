#include "hsm/csr_check.h"

#include "common/ossl_ptr.h"
#include "hsm/csr_parse.h"
#include "hsm/csr_pop.h"

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

// The namedCurve parameters TLV for prime256v1.
constexpr char kP256ParamsTlv[] = {0x06,       0x08, 0x2a, char(0x86), 0x48,
                                   char(0xce), 0x3d, 0x03, 0x01,       0x07};

// The texts below only feed refusal messages, so they may use OpenSSL's slow paths. Whatever
// comes from outside is clipped before it goes into a message.

QString nameText(QByteArrayView nameDer) {
    const auto* p = reinterpret_cast<const unsigned char*>(nameDer.data());
    OsslPtr<X509_NAME, X509_NAME_free> name(d2i_X509_NAME(nullptr, &p, long(nameDer.size())));
    OsslPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
    if (!name || !bio)
        return QStringLiteral("?");
    X509_NAME_print_ex(bio.get(), name.get(), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return QString::fromUtf8(data, int(len)).left(128);
}

// "rsaEncryption", "secp384r1", or the dotted form of an OID OpenSSL does not know.
QString oidText(QByteArrayView content) {
    if (content.size() > 64)
        return QStringLiteral("?");
    QByteArray tlv;
    tlv.append(char(0x06)).append(char(content.size())).append(content);
    const auto* p = reinterpret_cast<const unsigned char*>(tlv.constData());
    OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> obj(d2i_ASN1_OBJECT(nullptr, &p, long(tlv.size())));
    char text[80] = {};
    if (!obj)
        return QStringLiteral("?");
    const int nid = OBJ_obj2nid(obj.get());
    if (nid != NID_undef)
        return QLatin1String(OBJ_nid2sn(nid));
    OBJ_obj2txt(text, sizeof text, obj.get(), 1);
    return QLatin1String(text);
}

QString curveText(QByteArrayView paramsTlv) {
    if (paramsTlv.isEmpty())
        return QStringLiteral("(no parameters)");
    if (paramsTlv.front() == 0x06 && paramsTlv.size() >= 2)
        return oidText(paramsTlv.sliced(2));
    return QStringLiteral("(explicit parameters)");
}

// PEM is only the base64 armour: decode it without OpenSSL's ASN.1 layer, which would run the
// slow key decoding this file avoids, and leave the strict parse to the DER.
QByteArray pemToDer(const QByteArray& pem) {
    OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (!bio || PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1)
        return {};
    const QByteArrayView type(name);
    QByteArray out;
    if ((type == "CERTIFICATE REQUEST" || type == "NEW CERTIFICATE REQUEST") && header &&
        header[0] == 0 && len > 0)
        out = QByteArray(reinterpret_cast<const char*>(data), int(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
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

    // Our own strict parse, not d2i_X509_REQ: see csr_parse.h for why.
    auto parsed = parseCsrDer(der);
    if (!parsed.ok())
        return reject(
            CsrRejection::Malformed,
            QStringLiteral("not a DER PKCS#10 request: %1").arg(parsed.error().message()));
    const CsrFields& f = *parsed;

    if (f.keyAlgOid != oid::ecPublicKey)
        return reject(CsrRejection::NotEcKey,
                      QStringLiteral("key type is %1, the station issues for EC P-256 only")
                          .arg(oidText(f.keyAlgOid)));
    // namedCurve prime256v1 only: explicit curve parameters are how invalid-curve keys arrive.
    const QByteArrayView p256Params(kP256ParamsTlv, sizeof kP256ParamsTlv);
    if (f.keyParams != p256Params)
        return reject(CsrRejection::WrongCurve,
                      QStringLiteral("key is on curve '%1', the station issues for P-256 only")
                          .arg(curveText(f.keyParams)));
    // The whole SubjectPublicKeyInfo is then fixed but for the point: 0 unused bits, 04||X||Y.
    if (f.keyBits.size() != 66 || f.keyBits.at(1) != 0x04)
        return reject(CsrRejection::Malformed,
                      QStringLiteral("public key must be an uncompressed P-256 point"));
    const QByteArrayView point = f.keyBits.sliced(1);
    auto key = P256PublicKey::fromPoint(point);
    if (!key.ok()) {
        if (key.error().code() != ErrorCode::BadInput)
            return key.error();
        return reject(CsrRejection::Malformed, key.error().message());
    }

    // Exactly one attribute, CN, equal to the ID this station assigned: anything more would be
    // copied into nothing, but a device asking for it is not behaving as specified.
    const QByteArray id = expectedDeviceId.toUtf8();
    const SubjectMatch subject = matchSubjectCn(f.subject, id);
    if (subject == SubjectMatch::Malformed)
        return reject(CsrRejection::Malformed, QStringLiteral("subject does not parse"));
    if (subject != SubjectMatch::Exact)
        return reject(CsrRejection::WrongSubject,
                      QStringLiteral("subject is '%1', expected 'CN=%2'")
                          .arg(nameText(f.subject), expectedDeviceId));

    // RFC 5758: ecdsa-with-SHA256 has no parameters, not even NULL.
    if (f.sigAlgOid != oid::ecdsaWithSha256 || !f.sigParams.isEmpty())
        return reject(CsrRejection::BadSignature,
                      QStringLiteral("signature algorithm is %1, the station accepts "
                                     "ecdsa-with-SHA256 only")
                          .arg(oidText(f.sigAlgOid)));
    if (!key->verifySha256(f.info, f.signature))
        return reject(CsrRejection::BadSignature,
                      QStringLiteral("signature does not verify with the request's own key"));

    CheckedCsr out;
    out.m_deviceId = expectedDeviceId;
    out.m_spki = f.spki.toByteArray();
    out.m_point = point.toByteArray();
    return out;
}

} // namespace keyline::hsm
