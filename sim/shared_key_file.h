#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <mutex>

namespace keyline::sim {

// The one P-256 key every device with the rng-repeat fault "generates": a broken random number
// generator gives every such chip the same key pair. Kept in the state directory so the
// repetition also spans simulator restarts.
class SharedKeyFile {
public:
    explicit SharedKeyFile(QString path)
        : m_path(std::move(path)) {}
    // The key's PKCS#8 PEM, created on first use.
    Result<QByteArray> privateKeyPem();

private:
    QString m_path;
    std::mutex m_mutex;
};

} // namespace keyline::sim
