#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

namespace keyline::station {

// Asks for the PIN of HSM token `tokenLabel` on the controlling terminal, without echo.
// EnvironmentNotReady naming the other PIN sources when there is no terminal (headless runs,
// services): a batch job never blocks on a prompt nobody sees.
Result<QByteArray> promptForPin(const QString& tokenLabel);

} // namespace keyline::station
