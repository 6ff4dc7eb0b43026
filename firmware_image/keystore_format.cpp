#include "firmware_image/keystore.h"

#include <QtEndian>
#include <algorithm>

namespace keyline::firmware {

namespace {

const QByteArray kMagic = QByteArrayLiteral("KLKS");
constexpr quint16 kVersion = 1;
constexpr quint8 kSigEcdsaP256Sha256 = 1;
constexpr int kMaxEntries = 8;

Error bad(const QString& field, const QString& why) {
    return Error(ErrorCode::BadInput, QStringLiteral("keystore field '%1': %2").arg(field, why));
}

// Bounds-checked reader: every take says how much it needs before touching the buffer.
class Reader {
public:
    explicit Reader(const QByteArray& b)
        : m_b(b) {}
    qsizetype left() const { return m_b.size() - m_pos; }
    qsizetype pos() const { return m_pos; }
    bool take(qsizetype n, QByteArray* out) {
        if (n < 0 || left() < n)
            return false;
        *out = m_b.mid(m_pos, n);
        m_pos += n;
        return true;
    }
    bool u8(quint8* v) {
        QByteArray b;
        if (!take(1, &b))
            return false;
        *v = quint8(b.at(0));
        return true;
    }
    bool u16(quint16* v) {
        QByteArray b;
        if (!take(2, &b))
            return false;
        *v = qFromBigEndian<quint16>(b.constData());
        return true;
    }
    bool u64(quint64* v) {
        QByteArray b;
        if (!take(8, &b))
            return false;
        *v = qFromBigEndian<quint64>(b.constData());
        return true;
    }

private:
    const QByteArray& m_b;
    qsizetype m_pos = 0;
};

void putU16(QByteArray& out, quint16 v) {
    char b[2];
    qToBigEndian(v, b);
    out.append(b, 2);
}

void putU64(QByteArray& out, quint64 v) {
    char b[8];
    qToBigEndian(v, b);
    out.append(b, 8);
}

bool validCustomerId(const QByteArray& id) {
    if (id.isEmpty() || id.size() > 64)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

// Entry rules shared by the writer and the reader.
Result<void> checkEntries(const std::vector<KeystoreEntry>& entries, bool fromOutside) {
    auto fail = [&](const QString& why) {
        return fromOutside ? bad(QStringLiteral("entries"), why)
                           : Error(ErrorCode::InvalidArgument, QStringLiteral("keystore: ") + why);
    };
    if (entries.size() != 3)
        return fail(QStringLiteral("%1 entries, a keystore holds exactly 3 (application signing, "
                                   "update authorisation, back-end end-to-end)")
                        .arg(entries.size()));
    bool seen[4] = {false, false, false, false};
    for (const auto& e : entries) {
        const int p = int(e.purpose);
        if (p < 1 || p > 3)
            return fail(QStringLiteral("unknown purpose %1").arg(p));
        if (seen[p])
            return fail(QStringLiteral("purpose %1 appears twice").arg(purposeName(e.purpose)));
        seen[p] = true;
        if (e.algorithm != algorithmFor(e.purpose))
            return fail(QStringLiteral("%1 key must be %2")
                            .arg(purposeName(e.purpose), algorithmName(algorithmFor(e.purpose))));
        auto point = p256PointFromPublicKey(e.publicKey);
        if (!point.ok() || *point != e.publicKey)
            return fail(QStringLiteral("%1 key is not an uncompressed P-256 point")
                            .arg(purposeName(e.purpose)));
    }
    return success();
}

} // namespace

QString environmentName(Environment e) {
    return e == Environment::Production ? QStringLiteral("prod") : QStringLiteral("dev");
}

Result<Environment> parseEnvironment(const QString& text) {
    if (text == QLatin1String("dev"))
        return Environment::Development;
    if (text == QLatin1String("prod"))
        return Environment::Production;
    return Error(
        ErrorCode::InvalidArgument,
        QStringLiteral("environment must be 'dev' or 'prod', not '%1'").arg(text.left(16)));
}

QString purposeName(KeyPurpose p) {
    switch (p) {
    case KeyPurpose::ApplicationSigning:
        return QStringLiteral("application-signing");
    case KeyPurpose::UpdateAuthorisation:
        return QStringLiteral("update-authorisation");
    case KeyPurpose::BackendE2e:
        return QStringLiteral("backend-e2e");
    }
    return QStringLiteral("unknown-%1").arg(int(p));
}

Result<KeyPurpose> parsePurpose(const QString& text) {
    for (KeyPurpose p :
         {KeyPurpose::ApplicationSigning, KeyPurpose::UpdateAuthorisation, KeyPurpose::BackendE2e})
        if (purposeName(p) == text)
            return p;
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("unknown key purpose '%1'").arg(text.left(32)));
}

QString algorithmName(KeyAlgorithm a) {
    return a == KeyAlgorithm::EcdhP256 ? QStringLiteral("ecdh-p256") : QStringLiteral("ecdsa-p256");
}

KeyAlgorithm algorithmFor(KeyPurpose p) {
    return p == KeyPurpose::BackendE2e ? KeyAlgorithm::EcdhP256 : KeyAlgorithm::EcdsaP256;
}

Result<QByteArray> encodeKeystoreBody(const KeystoreContent& content,
                                      const QByteArray& signerKeyId) {
    const QByteArray customer = content.customerId.toUtf8();
    if (!validCustomerId(customer))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("customer ID '%1' must be 1 to 64 of A-Z a-z 0-9 . _ -")
                         .arg(content.customerId.left(80)));
    if (content.serial == 0)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("keystore serial starts at 1"));
    if (signerKeyId.size() != 32)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("signer key id must be 32 bytes"));
    KL_TRY(checkEntries(content.entries, false));

    std::vector<KeystoreEntry> sorted = content.entries;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.purpose < b.purpose; });
    QByteArray out = kMagic;
    putU16(out, kVersion);
    out.append(char(content.environment));
    putU16(out, quint16(customer.size()));
    out.append(customer);
    putU64(out, content.serial);
    out.append(char(sorted.size()));
    for (const auto& e : sorted) {
        out.append(char(e.purpose));
        out.append(char(e.algorithm));
        putU16(out, quint16(e.publicKey.size()));
        out.append(e.publicKey);
    }
    out.append(signerKeyId);
    out.append(char(kSigEcdsaP256Sha256));
    return out;
}

Result<Keystore> parseKeystore(const QByteArray& bytes) {
    if (bytes.size() > kMaxKeystoreBytes)
        return bad(QStringLiteral("size"),
                   QStringLiteral("%1 bytes, at most %2").arg(bytes.size()).arg(kMaxKeystoreBytes));
    Reader r(bytes);
    Keystore ks;
    QByteArray magic;
    if (!r.take(4, &magic) || magic != kMagic)
        return bad(QStringLiteral("magic"), QStringLiteral("not a Keyline keystore (\"KLKS\")"));
    quint16 version = 0;
    if (!r.u16(&version))
        return bad(QStringLiteral("version"), QStringLiteral("truncated"));
    if (version != kVersion)
        return bad(QStringLiteral("version"),
                   QStringLiteral("format %1, this station reads %2").arg(version).arg(kVersion));
    quint8 env = 0;
    if (!r.u8(&env))
        return bad(QStringLiteral("environment"), QStringLiteral("truncated"));
    if (env != quint8(Environment::Development) && env != quint8(Environment::Production))
        return bad(QStringLiteral("environment"),
                   QStringLiteral("value %1 is not 1 or 2").arg(env));
    ks.content.environment = Environment(env);
    quint16 idLen = 0;
    QByteArray id;
    if (!r.u16(&idLen) || !r.take(idLen, &id))
        return bad(QStringLiteral("customer_id"), QStringLiteral("truncated"));
    if (!validCustomerId(id))
        return bad(QStringLiteral("customer_id"),
                   QStringLiteral("must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    ks.content.customerId = QString::fromLatin1(id);
    if (!r.u64(&ks.content.serial))
        return bad(QStringLiteral("serial"), QStringLiteral("truncated"));
    if (ks.content.serial == 0)
        return bad(QStringLiteral("serial"), QStringLiteral("0 is not a valid serial"));
    quint8 count = 0;
    if (!r.u8(&count))
        return bad(QStringLiteral("entry_count"), QStringLiteral("truncated"));
    if (count == 0 || count > kMaxEntries)
        return bad(QStringLiteral("entry_count"),
                   QStringLiteral("%1, expected 1 to %2").arg(count).arg(kMaxEntries));
    quint8 previous = 0;
    for (int i = 0; i < count; ++i) {
        const QString field = QStringLiteral("entry[%1]").arg(i);
        quint8 purpose = 0, alg = 0;
        quint16 keyLen = 0;
        KeystoreEntry e{KeyPurpose::ApplicationSigning, KeyAlgorithm::EcdsaP256, {}};
        if (!r.u8(&purpose) || !r.u8(&alg) || !r.u16(&keyLen) || !r.take(keyLen, &e.publicKey))
            return bad(field, QStringLiteral("truncated"));
        if (purpose <= previous)
            return bad(field, QStringLiteral("entries must be in increasing purpose order"));
        if (alg != quint8(KeyAlgorithm::EcdsaP256) && alg != quint8(KeyAlgorithm::EcdhP256))
            return bad(field, QStringLiteral("unknown algorithm %1").arg(alg));
        previous = purpose;
        e.purpose = KeyPurpose(purpose);
        e.algorithm = KeyAlgorithm(alg);
        ks.content.entries.push_back(std::move(e));
    }
    KL_TRY(checkEntries(ks.content.entries, true));
    quint8 sigAlg = 0;
    if (!r.take(32, &ks.signerKeyId) || !r.u8(&sigAlg))
        return bad(QStringLiteral("signer_key_id"), QStringLiteral("truncated"));
    if (sigAlg != kSigEcdsaP256Sha256)
        return bad(QStringLiteral("signature_algorithm"),
                   QStringLiteral("unknown algorithm %1").arg(sigAlg));
    ks.signedBytes = bytes.left(r.pos());
    quint16 sigLen = 0;
    if (!r.u16(&sigLen) || !r.take(sigLen, &ks.signature))
        return bad(QStringLiteral("signature"), QStringLiteral("truncated"));
    if (sigLen < 8 || sigLen > 72)
        return bad(QStringLiteral("signature"),
                   QStringLiteral("%1 bytes is not a P-256 ECDSA signature").arg(sigLen));
    if (r.left() != 0)
        return bad(QStringLiteral("end"),
                   QStringLiteral("%1 bytes after the signature").arg(r.left()));
    return ks;
}

} // namespace keyline::firmware
