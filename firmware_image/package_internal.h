#pragma once

// Shared by the package reader, writer and verifiers; not part of the public API.

#include "firmware_image/package.h"

#include <QtEndian>

namespace keyline::firmware::pkg {

// "package region 'manifest': field 'os_version': truncated", detail = the region.
Error regionError(ErrorCode code, PackageRegion region, const QString& what);
inline Error bad(PackageRegion region, const QString& field, const QString& why) {
    return regionError(ErrorCode::BadInput, region,
                       QStringLiteral("field '%1': %2").arg(field, why));
}
inline Error failed(PackageRegion region, const QString& why) {
    return regionError(ErrorCode::VerificationFailed, region, why);
}

// Bounds-checked reader over one region: every take says how much it needs first.
class Reader {
public:
    explicit Reader(QByteArrayView b)
        : m_b(b) {}
    qsizetype left() const { return m_b.size() - m_pos; }
    qsizetype pos() const { return m_pos; }
    bool take(qsizetype n, QByteArrayView* out) {
        if (n < 0 || left() < n)
            return false;
        *out = m_b.sliced(m_pos, n);
        m_pos += n;
        return true;
    }
    template <typename T>
    bool num(T* v) {
        QByteArrayView b;
        if (!take(qsizetype(sizeof(T)), &b))
            return false;
        *v = qFromBigEndian<T>(b.data());
        return true;
    }

private:
    QByteArrayView m_b;
    qsizetype m_pos = 0;
};

template <typename T>
void put(QByteArray& out, T v) {
    char b[sizeof(T)];
    qToBigEndian(v, b);
    out.append(b, qsizetype(sizeof(T)));
}

// Field rules shared by writer and reader.
bool validCustomerId(QByteArrayView id);      // 1-64 of A-Z a-z 0-9 . _ -
bool validAppName(QByteArrayView name);       // same alphabet, 1-64
bool validComponentName(QByteArrayView name); // 1-32 of a-z 0-9 . _ -
bool validVersion(QByteArrayView v);          // 1-32 of 0x21-0x7e
bool validHardwareId(QByteArrayView h);       // 1-64 of 0x20-0x7e, no space at either end

// Hardware lists: 1-16 entries, strictly increasing (one encoding per content).
Result<void> checkHardwareList(const QStringList& list, PackageRegion region, bool fromOutside);
void putHardware(QByteArray& out, const QStringList& list);
Result<QStringList> readHardware(Reader& r, PackageRegion region);

QByteArray sha256(QByteArrayView data);

// Incremental SHA-256 (EVP), for streams.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void add(QByteArrayView data);
    QByteArray final();

private:
    void* m_ctx;
};

// The message a context string and body form: context ‖ NUL ‖ body.
QByteArray contextMessage(const char* context, QByteArrayView body);

// DER ECDSA-Sig-Value (what Signer returns) to fixed 64-byte r ‖ s, and back for verifying.
Result<QByteArray> derToRaw(const QByteArray& der);
// Signs SHA-256(context ‖ NUL ‖ body); 64-byte r ‖ s.
Result<QByteArray> signRaw(const Signer& signer, const char* context, QByteArrayView body);
// Verifies a 64-byte r ‖ s over SHA-256(context ‖ NUL ‖ body) with a P-256 key (point, PEM or
// DER SPKI). false on any failure.
bool verifyRaw(const QByteArray& key, const char* context, QByteArrayView body,
               QByteArrayView signature);
// SHA-256 of the DER SPKI of a P-256 key given as point, PEM or DER; empty if not a key.
QByteArray keyIdOf(const QByteArray& key);

inline QString hexPrefix(const QByteArray& b) {
    return QString::fromLatin1(b.toHex().left(16));
}

} // namespace keyline::firmware::pkg
