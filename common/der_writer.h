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

} // namespace keyline::der
