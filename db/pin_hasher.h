#pragma once

// Operator PINs are stored only as a slow, salted hash: PBKDF2-HMAC-SHA256 with a random
// 16-byte salt, encoded "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>". The
// iteration count travels with the hash, so raising the default later keeps old PINs working.
// A PIN is never stored, logged or put in an error message.

#include "common/result.h"

#include <QString>

namespace keyline::db {

class PinHasher {
public:
    // OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about a quarter second per login.
    static constexpr int kDefaultIterations = 600000;
    // Below this a stored hash is treated as tampered with; tests use it to stay fast.
    static constexpr int kMinimumIterations = 1000;

    explicit PinHasher(int iterations = kDefaultIterations);

    // 4 to 64 characters. InvalidArgument otherwise (the message never contains the PIN).
    static Result<void> checkPinRules(const QString& pin);

    Result<QString> hash(const QString& pin) const;
    // Constant-time comparison; false for a malformed stored hash.
    bool verify(const QString& pin, const QString& stored) const;

private:
    int m_iterations;
};

} // namespace keyline::db
