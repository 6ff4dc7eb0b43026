#include "db/pin_hasher.h"

#include <QStringList>
#include <algorithm>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace keyline::db {

namespace {

constexpr int kSaltBytes = 16;
constexpr int kHashBytes = 32;
const QString kScheme = QStringLiteral("pbkdf2-sha256");

// Wipes the UTF-8 copy of the PIN when it goes out of scope.
class SecretBytes {
public:
    explicit SecretBytes(const QString& text)
        : m_bytes(text.toUtf8()) {}
    ~SecretBytes() { OPENSSL_cleanse(m_bytes.data(), std::size_t(m_bytes.size())); }
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    const QByteArray& bytes() const { return m_bytes; }

private:
    QByteArray m_bytes;
};

QByteArray derive(const QString& pin, const QByteArray& salt, int iterations) {
    const SecretBytes secret(pin);
    QByteArray out(kHashBytes, '\0');
    if (PKCS5_PBKDF2_HMAC(secret.bytes().constData(), int(secret.bytes().size()),
                          reinterpret_cast<const unsigned char*>(salt.constData()),
                          int(salt.size()), iterations, EVP_sha256(), kHashBytes,
                          reinterpret_cast<unsigned char*>(out.data())) != 1)
        return {};
    return out;
}

} // namespace

PinHasher::PinHasher(int iterations)
    : m_iterations(std::max(iterations, kMinimumIterations)) {}

Result<void> PinHasher::checkPinRules(const QString& pin) {
    if (pin.size() < 4 || pin.size() > 64)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("a PIN must have 4 to 64 characters"));
    return success();
}

Result<QString> PinHasher::hash(const QString& pin) const {
    KL_TRY(checkPinRules(pin));
    QByteArray salt(kSaltBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), kSaltBytes) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("no randomness for the PIN salt"));
    const QByteArray derived = derive(pin, salt, m_iterations);
    if (derived.isEmpty())
        return Error(ErrorCode::Internal, QStringLiteral("PIN key derivation failed"));
    return QStringLiteral("%1$%2$%3$%4")
        .arg(kScheme)
        .arg(m_iterations)
        .arg(QString::fromLatin1(salt.toBase64()), QString::fromLatin1(derived.toBase64()));
}

bool PinHasher::verify(const QString& pin, const QString& stored) const {
    const QStringList parts = stored.split(QLatin1Char('$'));
    if (parts.size() != 4 || parts[0] != kScheme)
        return false;
    bool numeric = false;
    const int iterations = parts[1].toInt(&numeric);
    const QByteArray salt = QByteArray::fromBase64(parts[2].toLatin1());
    const QByteArray expected = QByteArray::fromBase64(parts[3].toLatin1());
    if (!numeric || iterations < kMinimumIterations || iterations > 100'000'000 ||
        salt.size() != kSaltBytes || expected.size() != kHashBytes)
        return false;
    const QByteArray derived = derive(pin, salt, iterations);
    return derived.size() == kHashBytes &&
           CRYPTO_memcmp(derived.constData(), expected.constData(), kHashBytes) == 0;
}

} // namespace keyline::db
