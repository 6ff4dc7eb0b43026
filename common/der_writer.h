#pragma once

// The few DER encodings the station's device certificates and the virtual devices' CSRs need,
// written directly: OpenSSL's template encoder costs more per certificate than the HSM
// signature does. Only definite, minimal lengths are produced (X.690 §10.1), so the output is
// DER, not just BER.

#include <QByteArray>
#include <QByteArrayView>

namespace keyline::der {

enum Tag : unsigned char {
    Integer = 0x02,
    BitString = 0x03,
    OctetString = 0x04,
    ObjectId = 0x06,
    Utf8String = 0x0c,
    Sequence = 0x30,
    Set = 0x31,
    ContextConstructed0 = 0xa0,
    ContextConstructed3 = 0xa3,
};

inline void appendLength(QByteArray& out, qsizetype length) {
    if (length < 0x80) {
        out.append(char(length));
        return;
    }
    unsigned char bytes[sizeof(qsizetype)];
    int n = 0;
    for (qsizetype v = length; v > 0; v >>= 8)
        bytes[n++] = static_cast<unsigned char>(v & 0xff);
    out.append(char(0x80 | n));
    while (n > 0)
        out.append(char(bytes[--n]));
}

inline void appendTlv(QByteArray& out, unsigned char tag, QByteArrayView content) {
    out.append(char(tag));
    appendLength(out, content.size());
    out.append(content);
}

inline QByteArray tlv(unsigned char tag, QByteArrayView content) {
    QByteArray out;
    out.reserve(content.size() + 6);
    appendTlv(out, tag, content);
    return out;
}

// The fixed DER prefix of a P-256 SubjectPublicKeyInfo, SEQUENCE { AlgorithmIdentifier
// { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }, before the 65-byte point.
inline constexpr QByteArrayView kP256SpkiPrefix{
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01"
    "\x07\x03\x42\x00",
    26};
// Its AlgorithmIdentifier, which a PKCS#8 private key carries too.
inline constexpr QByteArrayView kP256KeyAlgorithm = kP256SpkiPrefix.sliced(2, 21);

// The uncompressed point as a DER SubjectPublicKeyInfo: no parsing needed.
inline QByteArray p256SpkiFromPoint(QByteArrayView point65) {
    QByteArray out;
    out.reserve(kP256SpkiPrefix.size() + point65.size());
    out.append(kP256SpkiPrefix);
    out.append(point65);
    return out;
}

} // namespace keyline::der
