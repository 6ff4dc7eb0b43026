#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

namespace keyline::station {

// Asks for the PIN of HSM token `tokenLabel` on the controlling terminal, without echo.
// EnvironmentNotReady naming the other PIN sources when there is no terminal (headless runs,
// services): a batch job never blocks on a prompt nobody sees.
Result<QByteArray> promptForPin(const QString& tokenLabel);

// Asks `question` on the controlling terminal without echo; EnvironmentNotReady with
// `whenNoTerminal` (which names the other sources) when there is none or the answer is empty.
Result<QByteArray> promptSecret(const QString& question, const QString& whenNoTerminal);

} // namespace keyline::station
