#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <functional>

namespace keyline::hsm {

// Where the token PIN comes from, in order: the configuration, an environment variable, an
// interactive prompt. The PIN is fetched when needed and not kept; it never reaches a log or an
// error message.
struct PinSource {
    QByteArray configured; // [hsm] pin; empty: not configured
    QString environmentVariable = QStringLiteral("KEYLINE_HSM_PIN");
    // Asks a person (terminal, GUI dialog); null in headless runs. Gets the token label.
    std::function<Result<QByteArray>(const QString& tokenLabel)> prompt;

    // EnvironmentNotReady when no source has a PIN.
    Result<QByteArray> resolve(const QString& tokenLabel) const;
    // True when resolve() would ask a person: neither configured nor in the environment.
    bool asksPerson() const;

    static PinSource fixed(const QByteArray& pin) {
        PinSource s;
        s.configured = pin;
        s.environmentVariable.clear();
        return s;
    }
};

} // namespace keyline::hsm
