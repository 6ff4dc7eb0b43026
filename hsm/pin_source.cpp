#include "hsm/pin_source.h"

namespace keyline::hsm {

bool PinSource::asksPerson() const {
    if (!configured.isEmpty() || !prompt)
        return false;
    return environmentVariable.isEmpty() ||
           !qEnvironmentVariableIsSet(environmentVariable.toLocal8Bit().constData());
}

Result<QByteArray> PinSource::resolve(const QString& tokenLabel) const {
    if (!configured.isEmpty())
        return configured;
    if (!environmentVariable.isEmpty()) {
        const QByteArray name = environmentVariable.toLocal8Bit();
        if (qEnvironmentVariableIsSet(name.constData()))
            return qgetenv(name.constData());
    }
    if (prompt)
        return prompt(tokenLabel);
    return Error(ErrorCode::EnvironmentNotReady,
                 QStringLiteral("no PIN for HSM token '%1': set [hsm] pin in keyline.conf or $%2, "
                                "or run interactively to be asked")
                     .arg(tokenLabel, environmentVariable.isEmpty()
                                          ? QStringLiteral("KEYLINE_HSM_PIN")
                                          : environmentVariable));
}

} // namespace keyline::hsm
