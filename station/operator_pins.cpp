#include "station/operator_pins.h"

#include "db/pin_hasher.h"
#include "station/pin_prompt.h"

namespace keyline::station {

namespace {

// Overwrites a PIN's bytes before they go back to the allocator.
void wipe(QByteArray& bytes) {
    bytes.fill('\0');
}

} // namespace

Result<QString> newOperatorPin(const QString& name) {
    QString pin;
    const QByteArray fromEnv = qgetenv("KEYLINE_NEW_OPERATOR_PIN");
    if (!fromEnv.isEmpty()) {
        pin = QString::fromUtf8(fromEnv);
    } else {
        const QString noTerminal = QStringLiteral("no new PIN for operator '%1': set "
                                                  "$KEYLINE_NEW_OPERATOR_PIN or run on a "
                                                  "terminal to be asked")
                                       .arg(name);
        KL_TRY_ASSIGN(
            QByteArray first,
            promptSecret(QStringLiteral("New PIN for operator '%1': ").arg(name), noTerminal));
        auto second =
            promptSecret(QStringLiteral("Repeat the new PIN for '%1': ").arg(name), noTerminal);
        if (!second) {
            wipe(first);
            return second.error();
        }
        const bool same = first == *second;
        pin = QString::fromUtf8(first);
        wipe(first);
        wipe(*second);
        if (!same)
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("the two PINs for operator '%1' differ; nothing was "
                                        "changed")
                             .arg(name));
    }
    KL_TRY(db::PinHasher::checkPinRules(pin));
    return pin;
}

} // namespace keyline::station
