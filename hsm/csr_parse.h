#pragma once

// A strict DER reader for the one PKCS#10 shape a device may send. OpenSSL 3.0's d2i_X509_REQ
// decodes the public key through the provider decoder framework (~500 µs, more than the HSM
// signature); this walks the bytes instead and hands out views into the caller's buffer.
//
// Strict means DER, not BER: definite minimal lengths, no indefinite lengths, single-byte tags,
// nothing after any element, no fields beyond the ones RFC 2986 defines.

#include "common/result.h"

#include <QByteArrayView>

namespace keyline::hsm {

// Views into the DER buffer given to parseCsrDer(); valid as long as it is.
struct CsrFields {
    QByteArrayView info;      // CertificationRequestInfo TLV: the bytes the signature covers
    QByteArrayView subject;   // Name TLV
    QByteArrayView spki;      // SubjectPublicKeyInfo TLV
    QByteArrayView keyAlgOid; // AlgorithmIdentifier.algorithm, OID content octets
    QByteArrayView keyParams; // AlgorithmIdentifier.parameters TLV, empty if absent
    QByteArrayView keyBits;   // subjectPublicKey BIT STRING content (unused-bits octet first)
    QByteArrayView sigAlgOid; // signatureAlgorithm.algorithm, OID content octets
    QByteArrayView sigParams; // signatureAlgorithm.parameters TLV, empty if absent
    QByteArrayView signature; // signature BIT STRING content after the unused-bits octet
};

// Parses CertificationRequest ::= SEQUENCE { CertificationRequestInfo ::= SEQUENCE { version
// INTEGER 0, subject Name, subjectPKInfo SEQUENCE { AlgorithmIdentifier, BIT STRING },
// attributes [0] SET OF Attribute }, signatureAlgorithm AlgorithmIdentifier, signature BIT
// STRING }. The Name and the attributes are checked for structure only. BadInput with the
// reason when the bytes are not exactly that.
Result<CsrFields> parseCsrDer(QByteArrayView der);

// What a subject Name is, compared with CN=<expected>.
enum class SubjectMatch { Exact, Different, Malformed };

// Exact: one RDN holding one attribute, commonName, a UTF8String, PrintableString or IA5String
// whose bytes are `expectedCn`. `name` is the Name TLV from CsrFields.
SubjectMatch matchSubjectCn(QByteArrayView name, QByteArrayView expectedCn);

// DER content octets of the OIDs the checks compare against.
namespace oid {
inline constexpr QByteArrayView ecPublicKey{"\x2a\x86\x48\xce\x3d\x02\x01", 7};
inline constexpr QByteArrayView prime256v1{"\x2a\x86\x48\xce\x3d\x03\x01\x07", 8};
inline constexpr QByteArrayView ecdsaWithSha256{"\x2a\x86\x48\xce\x3d\x04\x03\x02", 8};
inline constexpr QByteArrayView commonName{"\x55\x04\x03", 3};
} // namespace oid

} // namespace keyline::hsm
